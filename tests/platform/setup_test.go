//go:build unix

package platform

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"

	"primus.dev/primus/internal/render"
)

// release is the Helm release name the suite renders the chart with.
const release = "primus"

// applier applies unstructured objects with server-side apply.
type applier struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

func newApplier(t *testing.T) *applier {
	t.Helper()
	cfg := testCluster.RESTConfig()
	dyn, err := dynamic.NewForConfig(cfg)
	require.NoError(t, err)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(testCluster.Clientset().Discovery()))
	return &applier{dyn: dyn, mapper: mapper}
}

// resource returns the client of obj's resource.
func (a *applier) resource(t *testing.T, obj *unstructured.Unstructured) dynamic.ResourceInterface {
	t.Helper()
	gvk := obj.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		a.mapper.Reset()
		m, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	require.NoError(t, err, "map %s", gvk)
	if obj.GetNamespace() != "" {
		return a.dyn.Resource(m.Resource).Namespace(obj.GetNamespace())
	}
	return a.dyn.Resource(m.Resource)
}

// apply server-side applies obj.
func (a *applier) apply(ctx context.Context, t *testing.T, obj *unstructured.Unstructured) {
	t.Helper()
	_, err := a.resource(t, obj).Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: "primus-platform-test", Force: true})
	require.NoError(t, err, "apply %s %s", obj.GetKind(), obj.GetName())
}

// installCRD applies the Project CRD from the chart and waits until the API
// serves it.
func installCRD(ctx context.Context, t *testing.T, a *applier) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot(), "charts", "primus", "crds", "projects.primus.dev.yaml"))
	require.NoError(t, err)
	crd := &unstructured.Unstructured{}
	require.NoError(t, yaml.Unmarshal(raw, &crd.Object))
	a.apply(ctx, t, crd)
	gvr := schema.GroupVersionResource{Group: "primus.dev", Version: "v1alpha1", Resource: "projects"}
	require.Eventually(t, func() bool {
		_, err := a.dyn.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 1})
		return err == nil
	}, 60*time.Second, 200*time.Millisecond, "the projects API is never served")
	a.mapper.Reset()
}

// rbacKinds are the chart objects the suite applies: the ServiceAccount and
// every RBAC object, so the replicas run with exactly the chart's
// permissions, and the Lease when the chart renders one.
var rbacKinds = map[string]bool{
	"ServiceAccount": true, "Role": true, "RoleBinding": true,
	"ClusterRole": true, "ClusterRoleBinding": true, "Lease": true,
}

// installChartRBAC renders the chart for namespace ns with set and applies
// its RBAC objects. It returns the rendered objects and removes the
// cluster-scoped ones at cleanup.
func installChartRBAC(ctx context.Context, t *testing.T, a *applier, ns string, set []string) []render.Object {
	t.Helper()
	res, err := render.Render(render.Options{Chart: filepath.Join(repoRoot(), "charts", "primus"), ReleaseName: release, Namespace: ns, Set: set})
	require.NoError(t, err)
	for _, obj := range res.Objects {
		if !rbacKinds[obj.GetKind()] {
			continue
		}
		a.apply(ctx, t, obj.Unstructured)
		if obj.GetNamespace() == "" {
			u := obj.Unstructured
			t.Cleanup(func() {
				err := a.resource(t, u).Delete(context.Background(), u.GetName(), metav1.DeleteOptions{})
				if err != nil && !apierrors.IsNotFound(err) {
					t.Logf("delete %s %s: %v", u.GetKind(), u.GetName(), err)
				}
			})
		}
	}
	return res.Objects
}

// createNamespace creates ns and deletes it at cleanup.
func createNamespace(ctx context.Context, t *testing.T, kube kubernetes.Interface, ns string) {
	t.Helper()
	_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
}

// serviceAccountToken creates ServiceAccount name in ns (if needed) and
// returns a one-hour token for it from the TokenRequest API.
func serviceAccountToken(ctx context.Context, t *testing.T, kube kubernetes.Interface, ns, name string) string {
	t.Helper()
	_, err := kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		require.NoError(t, err)
	}
	tr, err := kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: new(int64(3600))},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	return tr.Status.Token
}

// grantProjects gives ServiceAccount ns/name full access to projects
// through a ClusterRole, the way a platform admin grants it.
func grantProjects(ctx context.Context, t *testing.T, kube kubernetes.Interface, ns, name string) {
	t.Helper()
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "primus-test-projects-" + ns},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"primus.dev"}, Resources: []string{"projects"},
			Verbs: []string{"get", "list", "create", "update", "delete"},
		}},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}},
	}
	_, err := kube.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = kube.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = kube.RbacV1().ClusterRoleBindings().Delete(context.Background(), binding.Name, metav1.DeleteOptions{})
		_ = kube.RbacV1().ClusterRoles().Delete(context.Background(), role.Name, metav1.DeleteOptions{})
	})
}

// writeTokenKubeconfig writes a kubeconfig that reaches the cluster as the
// bearer of token, so a process using it has that identity's RBAC only.
func writeTokenKubeconfig(t *testing.T, token string) string {
	t.Helper()
	rc := testCluster.RESTConfig()
	ca := rc.CAData
	if len(ca) == 0 && rc.CAFile != "" {
		var err error
		ca, err = os.ReadFile(rc.CAFile)
		require.NoError(t, err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["cluster"] = &clientcmdapi.Cluster{Server: rc.Host, CertificateAuthorityData: ca, InsecureSkipTLSVerify: len(ca) == 0}
	cfg.AuthInfos["primus"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["primus"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: "primus"}
	cfg.CurrentContext = "primus"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, path))
	return path
}

// createPods creates a stand-in Pod per replica name, so the leader's
// pod-deletion-cost patch has a target (kwok fakes the Pods' status).
func createPods(ctx context.Context, t *testing.T, kube kubernetes.Interface, ns string, names []string) {
	t.Helper()
	for _, name := range names {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app.kubernetes.io/name": "primus"}},
			Spec: corev1.PodSpec{
				Containers:  []corev1.Container{{Name: "primus", Image: "primus:test"}},
				Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			},
		}
		_, err := kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		require.NoError(t, err)
	}
}

// deletionCost returns the pod-deletion-cost annotation of Pod ns/name.
func deletionCost(ctx context.Context, kube kubernetes.Interface, ns, name string) (string, error) {
	pod, err := kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	return pod.Annotations["controller.kubernetes.io/pod-deletion-cost"], nil
}

// cleanupProjects removes every Project, finalizers included, so that a
// failed run leaves nothing that blocks the next one.
func cleanupProjects(t *testing.T, a *applier) {
	t.Helper()
	gvr := schema.GroupVersionResource{Group: "primus.dev", Version: "v1alpha1", Resource: "projects"}
	t.Cleanup(func() {
		ctx := context.Background()
		list, err := a.dyn.Resource(gvr).List(ctx, metav1.ListOptions{})
		if err != nil {
			return
		}
		for _, p := range list.Items {
			_, _ = a.dyn.Resource(gvr).Patch(ctx, p.GetName(), types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
			_ = a.dyn.Resource(gvr).Delete(ctx, p.GetName(), metav1.DeleteOptions{})
			_ = testCluster.Clientset().CoreV1().Namespaces().Delete(ctx, "project-"+p.GetName(), metav1.DeleteOptions{})
		}
	})
}

// findKind returns the rendered objects of one kind.
func findKind(objs []render.Object, kind string) []render.Object {
	return render.Find(objs, kind)
}
