package replica

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/primus-dev/primus/internal/hacheck/invariants"
	"github.com/primus-dev/primus/internal/hacheck/render"
	mgmtv1 "github.com/primus-dev/primus/internal/platform/apis/management/v1alpha1"
	"github.com/primus-dev/primus/internal/platform/leader"
)

// installKinds are the chart objects Install applies: what the replicas
// need to run with exactly the chart's permissions and the chart's API
// priority (its FlowSchema), and the Project CRD.
// The Deployment, Service and PodDisruptionBudget are left out: the
// replicas are local processes.
var installKinds = []string{
	"CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
	"Role", "RoleBinding", "Lease", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
	"FlowSchema",
}

// InstallOptions says what Install renders.
type InstallOptions struct {
	// Render is the chart and the values, as hacheck render takes them;
	// Render.Namespace is the release namespace. IncludeCRDs is forced on.
	Render render.Options
}

// Installation is the part of a chart Install put on a cluster, and the
// owner of what it created there.
type Installation struct {
	// Namespace and Release are the release's.
	Namespace, Release string
	// Objects are every rendered object, CRDs included.
	Objects []render.Object
	// Deployment is the rendered leader-elected Deployment: its container
	// args and environment are what the replicas run with.
	Deployment *appsv1.Deployment
	// LeaderElection is the Deployment's leader-election configuration.
	LeaderElection invariants.LeaderElection
	// ServiceAccount is the ServiceAccount the Deployment's pods run as.
	ServiceAccount string

	cfg  *rest.Config
	kube kubernetes.Interface
	dyn  dynamic.Interface
	app  *applier

	mu       sync.Mutex
	cleanups []func(context.Context) error // run in reverse by Close
}

// Install renders opts.Render and applies, with server-side apply, its
// CRDs, ServiceAccount, RBAC, Lease and FlowSchema to the cluster of cfg (an admin
// config), creating the release namespace (and the Lease's) when missing,
// and waits until the API serves the CRDs. Close deletes what it created
// except the CRDs, which every installation on the cluster shares (deleting
// one deletes every Project). A render error is returned as is, so a
// render.InputError stays one.
func Install(ctx context.Context, cfg *rest.Config, opts InstallOptions) (_ *Installation, err error) {
	opts.Render.IncludeCRDs = true
	res, err := render.Render(opts.Render)
	if err != nil {
		return nil, err
	}
	namespace := defaultString(opts.Render.Namespace, render.DefaultNamespace)
	manifest, err := invariants.NewManifestIn(res.Objects, namespace)
	if err != nil {
		return nil, fmt.Errorf("install %s: %w", opts.Render.Chart, err)
	}
	d := manifest.LeaderElected()
	if d == nil {
		return nil, &render.InputError{Err: fmt.Errorf("chart %s renders no Deployment", opts.Render.Chart)}
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("install: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("install: %w", err)
	}
	i := &Installation{
		Namespace:      namespace,
		Release:        defaultString(opts.Render.ReleaseName, render.DefaultReleaseName),
		Objects:        res.Objects,
		Deployment:     d,
		LeaderElection: invariants.LeaderElectionOf(d),
		ServiceAccount: invariants.ServiceAccountOf(d),
		cfg:            cfg,
		kube:           kube,
		dyn:            dyn,
		app:            newApplier(dyn, kube, namespace),
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, i.Close(context.WithoutCancel(ctx)))
		}
	}()
	for _, ns := range []string{i.Namespace, i.LeaderElection.LeaseNamespace} {
		if err := i.ensureNamespace(ctx, ns); err != nil {
			return nil, err
		}
	}
	if err := i.applyChartObjects(ctx); err != nil {
		return nil, err
	}
	return i, nil
}

// Attach returns the Installation of a release already installed on the
// cluster of cfg (an admin config) whose rendered manifest is objs, in
// namespace: it applies nothing, and Close deletes only what Token and
// GrantProjects created. A manifest without a leader-elected Deployment
// is bad input (render.InputError).
func Attach(cfg *rest.Config, objs []render.Object, namespace, release string) (*Installation, error) {
	manifest, err := invariants.NewManifestIn(objs, defaultString(namespace, render.DefaultNamespace))
	if err != nil {
		return nil, fmt.Errorf("attach to release %s: %w", release, err)
	}
	d := manifest.LeaderElected()
	if d == nil {
		return nil, &render.InputError{Err: fmt.Errorf("release %s has no leader-elected Deployment", release)}
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("attach: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("attach: %w", err)
	}
	return &Installation{
		Namespace:      defaultString(namespace, render.DefaultNamespace),
		Release:        defaultString(release, render.DefaultReleaseName),
		Objects:        objs,
		Deployment:     d,
		LeaderElection: invariants.LeaderElectionOf(d),
		ServiceAccount: invariants.ServiceAccountOf(d),
		cfg:            cfg,
		kube:           kube,
		dyn:            dyn,
		app:            newApplier(dyn, kube, defaultString(namespace, render.DefaultNamespace)),
	}, nil
}

// applyChartObjects applies the installKinds objects in that order and
// waits for the CRDs.
func (i *Installation) applyChartObjects(ctx context.Context) error {
	for _, kind := range installKinds {
		for _, obj := range render.Find(i.Objects, kind) {
			u := obj.Unstructured
			if err := i.app.apply(ctx, u); err != nil {
				return fmt.Errorf("install: %w", err)
			}
			if kind == "CustomResourceDefinition" {
				if err := i.waitServed(ctx, u); err != nil {
					return err
				}
				continue
			}
			// Each object goes at Close: cluster-scoped ones, and namespaced
			// ones in a namespace the Installation did not create (the
			// chart's RoleBinding in kube-system, a release in default).
			i.onClose(func(ctx context.Context) error { return i.app.delete(ctx, u) })
		}
	}
	return nil
}

// ensureNamespace creates namespace ns when it does not exist and then
// owns it.
func (i *Installation) ensureNamespace(ctx context.Context, ns string) error {
	if ns == "" {
		return nil
	}
	_, err := i.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		return nil
	case err != nil:
		return fmt.Errorf("create namespace %s: %w", ns, err)
	}
	i.onClose(func(ctx context.Context) error {
		err := i.kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		if ignoreNotFound(err) != nil {
			return fmt.Errorf("delete namespace %s: %w", ns, err)
		}
		return nil
	})
	return nil
}

// waitServed waits until the API lists the resources of an applied CRD.
func (i *Installation) waitServed(ctx context.Context, crd *unstructured.Unstructured) error {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	var version string
	for _, v := range versions {
		m, _ := v.(map[string]any)
		if served, _ := m["served"].(bool); served {
			version, _ = m["name"].(string)
			break
		}
	}
	gvr := schema.GroupVersionResource{Group: group, Version: version, Resource: plural}
	var last error
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, last = i.dyn.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 1})
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("CRD %s is never served: %w (last: %v)", crd.GetName(), err, last)
	}
	i.app.mapper.Reset()
	return nil
}

// Token returns a token of ServiceAccount name in the release namespace
// from the TokenRequest API, valid for ttl, creating the ServiceAccount
// when it does not exist.
func (i *Installation) Token(ctx context.Context, name string, ttl time.Duration) (string, error) {
	_, err := i.kube.CoreV1().ServiceAccounts(i.Namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	switch {
	case err == nil:
		i.onClose(func(ctx context.Context) error {
			return ignoreNotFound(i.kube.CoreV1().ServiceAccounts(i.Namespace).Delete(ctx, name, metav1.DeleteOptions{}))
		})
	case !apierrors.IsAlreadyExists(err):
		return "", fmt.Errorf("create service account %s/%s: %w", i.Namespace, name, err)
	}
	secs := int64(ttl.Seconds())
	tr, err := i.kube.CoreV1().ServiceAccounts(i.Namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &secs},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token of service account %s/%s: %w", i.Namespace, name, err)
	}
	return tr.Status.Token, nil
}

// GrantProjects gives ServiceAccount name of the release namespace full
// access to Projects through a ClusterRole and ClusterRoleBinding, the way
// a platform admin grants it to a user of the API. Close removes both.
func (i *Installation) GrantProjects(ctx context.Context, name string) error {
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "primus-replicas-projects-" + i.Namespace + "-" + name},
		// The Projects themselves, and the API's view of them: the API
		// authorizes each request on management.primus.dev projects and
		// lets a caller who may act on every primus.dev Project see them all.
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"primus.dev", mgmtv1.GroupName}, Resources: []string{"projects"},
			Verbs: []string{"get", "list", "watch", "create", "update", "delete"},
		}},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: i.Namespace}},
	}
	rbac := i.kube.RbacV1()
	if _, err := rbac.ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("grant projects to %s: %w", name, err)
	}
	i.onClose(func(ctx context.Context) error {
		return ignoreNotFound(rbac.ClusterRoles().Delete(ctx, role.Name, metav1.DeleteOptions{}))
	})
	if _, err := rbac.ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("grant projects to %s: %w", name, err)
	}
	i.onClose(func(ctx context.Context) error {
		return ignoreNotFound(rbac.ClusterRoleBindings().Delete(ctx, binding.Name, metav1.DeleteOptions{}))
	})
	return nil
}

// WriteKubeconfig writes, into dir, a kubeconfig that reaches the cluster
// as the chart's ServiceAccount with a TokenRequest token valid for ttl, so
// that a process using it has exactly the chart's RBAC. It returns its path.
func (i *Installation) WriteKubeconfig(ctx context.Context, dir string, ttl time.Duration) (string, error) {
	token, err := i.Token(ctx, i.ServiceAccount, ttl)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "kubeconfig-"+i.ServiceAccount)
	if err := WriteTokenKubeconfig(i.cfg, token, path); err != nil {
		return "", err
	}
	return path, nil
}

// ReplicaConfig returns the Config that runs the chart's Deployment as
// local processes: its container's args and plain environment, the
// release namespace as POD_NAMESPACE, and kubeconfig.
func (i *Installation) ReplicaConfig(binary, kubeconfig, dir string) (Config, error) {
	args, env, err := FromDeployment(i.Deployment, i.LeaderElection.Container)
	if err != nil {
		return Config{}, err
	}
	return Config{Binary: binary, Kubeconfig: kubeconfig, Namespace: i.Namespace, Args: args, Env: env, Dir: dir}, nil
}

// Kube returns the admin clientset the installation uses.
func (i *Installation) Kube() kubernetes.Interface { return i.kube }

// Lease reads the Lease the release's replicas elect on, as each replica
// reads it (leader.Reader, with no identity of its own), for
// SingleLeaderOf; nil when the release elects no leader.
func (i *Installation) Lease() *leader.Reader {
	if i == nil || !i.LeaderElection.Enabled {
		return nil
	}
	return &leader.Reader{Kube: i.kube, Namespace: i.LeaderElection.LeaseNamespace, Name: i.LeaderElection.LeaseName}
}

// onClose registers f to run at Close.
func (i *Installation) onClose(f func(context.Context) error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.cleanups = append(i.cleanups, f)
}

// Close deletes what Install, Token and GrantProjects created, newest
// first. It is safe to call twice.
func (i *Installation) Close(ctx context.Context) error {
	i.mu.Lock()
	cleanups := i.cleanups
	i.cleanups = nil
	i.mu.Unlock()
	var errs []error
	for _, f := range slices.Backward(cleanups) {
		errs = append(errs, f(ctx))
	}
	return errors.Join(errs...)
}

// WriteTokenKubeconfig writes a kubeconfig at path for the API server of
// cfg, trusting cfg's CA, that authenticates with the bearer token only.
func WriteTokenKubeconfig(cfg *rest.Config, token, path string) error {
	ca := cfg.CAData
	if len(ca) == 0 && cfg.CAFile != "" {
		var err error
		if ca, err = os.ReadFile(cfg.CAFile); err != nil {
			return fmt.Errorf("write kubeconfig: %w", err)
		}
	}
	return writeKubeconfig(cfg.Host, ca, token, path)
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func defaultString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
