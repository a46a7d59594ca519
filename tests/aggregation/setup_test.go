//go:build linux

package aggregation

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gruntwork-io/terratest/modules/random"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/primus-dev/primus/internal/hacheck/action"
	"github.com/primus-dev/primus/internal/hacheck/install"
	"github.com/primus-dev/primus/internal/hacheck/podrunner"
	"github.com/primus-dev/primus/internal/hacheck/render"
	"github.com/primus-dev/primus/internal/testharness/clustertest"
	"github.com/primus-dev/primus/internal/testharness/syncbuf"
	"github.com/primus-dev/primus/internal/testharness/tlsca"
)

const (
	release = "primus"
	// apiServiceName is the chart's APIService.
	apiServiceName = "v1alpha1.management.primus.dev"
	// tlsSecret holds the replicas' serving certificate.
	tlsSecret = "primus-api-tls"
)

// crdProjects is the storage: the primus.dev Project CRD.
var crdProjects = schema.GroupVersionResource{Group: "primus.dev", Version: "v1alpha1", Resource: "projects"}

// projects is the aggregated resource, as kubectl resolves `projects`.
var projects = schema.GroupVersionResource{Group: "management.primus.dev", Version: "v1alpha1", Resource: "projects"}

// platform is one release of the chart with the management API aggregated,
// its Pods' processes run by a podrunner in their network namespaces.
type platform struct {
	ns     string
	opts   install.Options
	runner *podrunner.Runner
	log    *syncbuf.Buffer
}

// installPlatform installs the chart with replicas replicas, the
// management API and the --set values set in a new namespace: a CA, a serving certificate for the
// Service's DNS names in a kubernetes.io/tls Secret, the CA as the
// APIService's caBundle. It waits until the aggregator reports the
// APIService Available. Cleanup undoes all of it.
func installPlatform(t testing.TB, replicas int, set ...string) *platform {
	t.Helper()
	clustertest.Require(t, testCluster)
	ctx := t.Context()
	kube := testCluster.Clientset()
	p := &platform{ns: "agg-" + strings.ToLower(random.UniqueId()), log: &syncbuf.Buffer{}}
	_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: p.ns}}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = kube.CoreV1().Namespaces().Delete(context.Background(), p.ns, metav1.DeleteOptions{}) })

	ca, err := tlsca.New("primus-management-" + p.ns)
	require.NoError(t, err)
	svc := release + "." + p.ns + ".svc"
	certPEM, keyPEM, err := ca.ServerPEM(svc, svc+".cluster.local")
	require.NoError(t, err)
	_, err = kube.CoreV1().Secrets(p.ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: tlsSecret},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM, "ca.crt": ca.PEM()},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	opts := install.Options{
		Kubeconfig: testCluster.Kubeconfig(),
		Render: render.Options{Chart: "../../charts/primus", ReleaseName: release, Namespace: p.ns, Set: append([]string{
			"replicaCount=" + strconv.Itoa(replicas),
			"managementAPI.enabled=true",
			"api.tlsSecretName=" + tlsSecret,
			"leaderElection.leaseDuration=4s", "leaderElection.renewDeadline=3s", "leaderElection.retryPeriod=1s",
			"shutdownDelaySeconds=2",
		}, set...), Values: map[string]any{"managementAPI": map[string]any{"apiService": map[string]any{"caBundle": string(ca.PEM())}}}},
	}
	t.Cleanup(func() {
		if err := install.Uninstall(opts); err != nil {
			t.Logf("uninstall: %v", err)
		}
	})
	_, err = install.Apply(ctx, opts)
	require.NoError(t, err, "helm install")
	p.opts = opts

	pn := testCluster.PodNetwork()
	require.NotNil(t, pn, "the suite needs the embedded cluster's Pod network (a cluster of $PRIMUS_TEST_KUBECONFIG has none)")
	p.runner, err = podrunner.Start(ctx, podrunner.Options{
		Kube: kube, Namespace: p.ns, Selector: "app.kubernetes.io/instance=" + release, Lease: release + "-leader",
		Starter: &podrunner.ReplicaStarter{
			Binary: primusBin, Kube: kube, Config: testCluster.RESTConfig(), Dir: t.TempDir(),
			Network: pn,
		},
		SetPodStatus: true,
		Log:          slog.New(slog.NewTextHandler(p.log, nil)),
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := p.runner.Close(ctx); err != nil {
			t.Errorf("stop the pods' processes: %v", err)
		}
		if t.Failed() {
			t.Logf("podrunner log:\n%s", p.log.String())
			p.dumpReplicaLogs(t)
		}
	})
	p.waitAvailable(t)
	return p
}

// waitAvailable waits until the aggregator reports the APIService
// Available: it has reached a replica's discovery document.
func (p *platform) waitAvailable(t testing.TB) {
	t.Helper()
	if err := action.WaitAPIServiceAvailable(t.Context(), testCluster.RESTConfig(), apiServiceName, 2*time.Minute); err != nil {
		pods, _ := testCluster.Clientset().CoreV1().Pods(p.ns).List(context.Background(), metav1.ListOptions{})
		for _, pod := range pods.Items {
			t.Logf("pod %s phase %s ip %s ready %v", pod.Name, pod.Status.Phase, pod.Status.PodIP, podReady(&pod))
		}
		t.Fatal(err)
	}
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// as is a dynamic client of the kube-apiserver that acts as user (admin
// credentials impersonating user, as `kubectl --as` does): the kube-apiserver
// authenticates, authorizes the impersonation and passes user on to the
// management API in the front-proxy headers.
func as(t testing.TB, user string, groups ...string) dynamic.NamespaceableResourceInterface {
	t.Helper()
	return asWith(t, testCluster.RESTConfig(), user, groups...)
}

// asUnthrottled is as without client-side rate limiting, for load.
func asUnthrottled(t testing.TB, user string) dynamic.NamespaceableResourceInterface {
	t.Helper()
	cfg := rest.CopyConfig(testCluster.RESTConfig())
	cfg.QPS = -1 // client-go sets no rate limiter for a negative QPS
	return asWith(t, cfg, user)
}

// asWith is as with base as the admin config to impersonate from.
func asWith(t testing.TB, base *rest.Config, user string, groups ...string) dynamic.NamespaceableResourceInterface {
	t.Helper()
	cfg := rest.CopyConfig(base)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: append([]string{"system:authenticated"}, groups...)}
	cfg.Timeout = 30 * time.Second
	c, err := dynamic.NewForConfig(cfg)
	require.NoError(t, err)
	return c.Resource(projects)
}

// project is a management Project with members (kind User, name → role).
func project(name string, members map[string]string) *unstructured.Unstructured {
	var ms []any
	for user, role := range members {
		ms = append(ms, map[string]any{"kind": "User", "name": user, "role": role})
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": projects.GroupVersion().String(), "kind": "Project",
		"metadata": map[string]any{"name": name},
		"spec":     map[string]any{"members": ms},
	}}
}

// deleteProject removes a Project at cleanup through the cluster's own
// CRD, whatever the test left, finalizer included: the platform that would
// remove it may already be uninstalled, and a Project left Terminating
// would stay in every later list.
func deleteProject(t testing.TB, name string) {
	t.Cleanup(func() { removeProjects(t, name) })
}

// removeProjects deletes the named primus.dev Projects and drops their
// finalizers (see deleteProject).
func removeProjects(t testing.TB, names ...string) {
	c, err := dynamic.NewForConfig(testCluster.RESTConfig())
	if err != nil {
		return
	}
	ctx := context.Background()
	crd := c.Resource(crdProjects)
	for _, name := range names {
		if err := crd.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Logf("delete project %s: %v", name, err)
		}
		_, err = crd.Patch(ctx, name, types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Logf("release project %s: %v", name, err)
		}
	}
}

// dumpReplicaLogs prints, after a failure, the lines of every replica
// process's log that are not audit events.
func (p *platform) dumpReplicaLogs(t testing.TB) {
	for _, inst := range p.runner.Instances() {
		for i, proc := range inst.Processes {
			rp, ok := proc.(*podrunner.ReplicaProcess)
			if !ok {
				continue
			}
			raw, err := os.ReadFile(rp.LogPath)
			if err != nil {
				continue
			}
			var keep []string
			for _, line := range strings.Split(string(raw), "\n") {
				if line != "" && !strings.Contains(line, `"kind":"Event"`) {
					keep = append(keep, line)
				}
			}
			t.Logf("--- %s process %d (%s) ---\n%s", inst.Pod, i+1, rp.LogPath, strings.Join(keep, "\n"))
		}
	}
}
