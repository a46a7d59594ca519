package cluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// TestCluster starts a real 3-node, 3-zone cluster and checks what the
// Primus suites rely on: the pinned version, Ready nodes in distinct zones,
// a scheduler that honours required pod anti-affinity, controllers that
// run Deployments, RBAC with ServiceAccount tokens, and a Stop that leaves
// nothing behind. The first run builds the binaries (about 11 min on 2 cores):
// run it with -timeout 30m.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real cluster (and builds Kubernetes on the first run)")
	}
	t.Parallel()
	start := time.Now()
	c, err := Start(t.Context(), Options{Name: "it", Nodes: 3, Zones: 3, Log: t.Output()})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		assert.NoError(t, c.Stop(ctx))
	})
	t.Logf("cluster started in %s", since(start))
	cs := c.Clientset()

	t.Run("version", func(t *testing.T) {
		v, err := cs.Discovery().ServerVersion()
		require.NoError(t, err)
		assert.Equal(t, KubernetesVersion, v.GitVersion)
	})

	t.Run("nodes ready in three zones", func(t *testing.T) {
		list, err := cs.CoreV1().Nodes().List(t.Context(), metav1.ListOptions{})
		require.NoError(t, err)
		require.Len(t, list.Items, 3)
		zones := map[string]bool{}
		for i := range list.Items {
			n := &list.Items[i]
			assert.True(t, nodeReady(n), "node %s not Ready", n.Name)
			zones[n.Labels[ZoneLabel]] = true
		}
		assert.Equal(t, map[string]bool{"zone-a": true, "zone-b": true, "zone-c": true}, zones)
		assert.ElementsMatch(t, c.NodeNames(), []string{"kwok-node-0", "kwok-node-1", "kwok-node-2"})
	})

	t.Run("anti-affinity spreads a deployment over the nodes", func(t *testing.T) {
		ns := createNamespace(t, cs, "anti-affinity")
		_, err := cs.AppsV1().Deployments(ns).Create(t.Context(), antiAffinityDeployment("ha", 3), metav1.CreateOptions{})
		require.NoError(t, err)
		var pods []corev1.Pod
		err = wait.PollUntilContextTimeout(t.Context(), 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=ha"})
			if err != nil {
				return false, err
			}
			pods = list.Items
			running := 0
			for _, p := range pods {
				if p.Status.Phase == corev1.PodRunning {
					running++
				}
			}
			return running == 3 && len(pods) == 3, nil
		})
		require.NoError(t, err, "pods: %v", podSummary(pods))
		nodes := map[string]bool{}
		for _, p := range pods {
			nodes[p.Spec.NodeName] = true
		}
		assert.Len(t, nodes, 3, "pods share a node: %v", podSummary(pods))

		// The disruption controller (kube-controller-manager) runs: it
		// counts the healthy pods of a PodDisruptionBudget.
		minAvailable := intstr.FromInt32(2)
		_, err = cs.PolicyV1().PodDisruptionBudgets(ns).Create(t.Context(), &policyv1.PodDisruptionBudget{
			ObjectMeta: metav1.ObjectMeta{Name: "ha"},
			Spec: policyv1.PodDisruptionBudgetSpec{
				MinAvailable: &minAvailable,
				Selector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": "ha"}},
			},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		err = wait.PollUntilContextTimeout(t.Context(), 250*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			pdb, err := cs.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "ha", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return pdb.Status.CurrentHealthy == 3 && pdb.Status.DisruptionsAllowed == 1, nil
		})
		assert.NoError(t, err, "PDB status must show 3 healthy pods, 1 disruption allowed")
	})

	t.Run("service account token is subject to RBAC", func(t *testing.T) {
		ns := createNamespace(t, cs, "rbac")
		_, err := cs.CoreV1().ServiceAccounts(ns).Create(t.Context(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "probe"}}, metav1.CreateOptions{})
		require.NoError(t, err)
		tok, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(t.Context(), "probe", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		require.NoError(t, err)
		require.NotEmpty(t, tok.Status.Token)

		cfg := rest.AnonymousClientConfig(c.RESTConfig())
		cfg.BearerToken = tok.Status.Token
		saClient, err := kubernetes.NewForConfig(cfg)
		require.NoError(t, err)
		canList := func(ctx context.Context) (bool, error) {
			r, err := saClient.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
				Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
					Namespace: ns, Verb: "list", Resource: "pods",
				}},
			}, metav1.CreateOptions{})
			if err != nil {
				return false, err
			}
			return r.Status.Allowed, nil
		}
		allowed, err := canList(t.Context())
		require.NoError(t, err, "the token must authenticate")
		assert.False(t, allowed, "RBAC must deny before any binding (AlwaysAllow?)")

		grantListPods(t, cs, ns, "probe")
		err = wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 30*time.Second, true, canList)
		assert.NoError(t, err, "RBAC must allow after the RoleBinding")
	})

	t.Run("an existing cluster opens through its kubeconfig", func(t *testing.T) {
		// As with --kubeconfig; $PRIMUS_TEST_KUBECONFIG takes the same path
		// (t.Setenv is not allowed in a parallel test).
		ext, err := StartOrConnect(t.Context(), c.Kubeconfig(), Options{})
		require.NoError(t, err)
		assert.Equal(t, c.NodeNames(), ext.NodeNames())
		v, err := ext.Clientset().Discovery().ServerVersion()
		require.NoError(t, err)
		assert.Equal(t, KubernetesVersion, v.GitVersion)
		require.NoError(t, ext.Stop(t.Context()), "Stop of an opened cluster is a no-op")
		_, err = c.Clientset().Discovery().ServerVersion()
		require.NoError(t, err, "the cluster must still run")
	})

	t.Run("stop leaves nothing behind", func(t *testing.T) {
		c.mu.Lock()
		pids := c.pids
		c.mu.Unlock()
		require.Len(t, pids, 5, "pids: %v", pids)
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(c.ports.APIServer))
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		require.NoError(t, err, "API server must answer before Stop")
		_ = conn.Close()

		start := time.Now()
		require.NoError(t, c.Stop(t.Context()))
		t.Logf("cluster stopped in %s", since(start))

		_, err = os.Stat(c.workdir)
		assert.True(t, errors.Is(err, os.ErrNotExist), "work dir %s still there: %v", c.workdir, err)
		_, err = net.DialTimeout("tcp", addr, time.Second)
		assert.Error(t, err, "API server still answers on %s", addr)
		for name, pid := range pids {
			assert.False(t, processAlive(pid, c.kwokctl.clusterDir()), "%s (pid %d) still running", name, pid)
		}
		assert.NoError(t, c.Stop(t.Context()), "second Stop")
	})
}

// TestStopKillsLeftovers stops a cluster with a context that is already
// done, as t.Context() is in t.Cleanup: Stop cannot run kwokctl delete, so
// it must kill the components itself. It runs in parallel with TestCluster,
// which also shows two clusters do not collide.
func TestStopKillsLeftovers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real cluster (and builds Kubernetes on the first run)")
	}
	t.Parallel()
	c, err := Start(t.Context(), Options{Name: "leftovers", Nodes: 1, Zones: 1, Log: t.Output()})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, c.Stop(context.Background())) })
	c.mu.Lock()
	pids := maps.Clone(c.pids)
	c.mu.Unlock()
	require.Len(t, pids, 5)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.NoError(t, c.Stop(ctx))

	for name, pid := range pids {
		assert.False(t, processAlive(pid, c.kwokctl.clusterDir()), "%s (pid %d) still running", name, pid)
	}
	_, err = os.Stat(c.workdir)
	assert.True(t, errors.Is(err, os.ErrNotExist), "work dir %s still there: %v", c.workdir, err)
}

// TestClustersStartedAtOnce starts three clusters at the same moment, as
// `go test ./...` does with one cluster per package, while this process
// keeps binding and closing :0 listeners, the way replicas and test servers
// do. Every cluster must come up on its own ports: with ports picked by
// listen-and-close, a :0 bind or another cluster could take one before its
// component bound it. Not parallel with TestCluster and
// TestStopKillsLeftovers, so that at most three clusters share the cores.
func TestClustersStartedAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three real clusters")
	}
	const n = 3
	churnCtx, stopChurn := context.WithCancel(t.Context())
	churned := make(chan int)
	go func() { churned <- churnEphemeralPorts(churnCtx) }()

	clusters := make([]*Cluster, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			clusters[i], errs[i] = Start(t.Context(), Options{Name: fmt.Sprintf("at-once-%d", i), Nodes: 1, Zones: 1, Log: t.Output()})
		})
	}
	wg.Wait()
	stopChurn()
	t.Logf("bound %d :0 listeners while the clusters started", <-churned)
	for _, c := range clusters {
		if c != nil {
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				assert.NoError(t, c.Stop(ctx))
			})
		}
	}
	for i, err := range errs {
		require.NoError(t, err, "cluster %d", i)
	}

	seen := map[int]string{}
	for _, c := range clusters {
		for _, port := range c.portSet.Ports() {
			if other, ok := seen[port]; ok {
				t.Errorf("port %d used by clusters %s and %s", port, other, c.name)
			}
			seen[port] = c.name
		}
		v, err := c.Clientset().Discovery().ServerVersion()
		require.NoError(t, err, "cluster %s", c.name)
		assert.Equal(t, KubernetesVersion, v.GitVersion)
		assert.Len(t, c.NodeNames(), 1)
	}
}

// churnEphemeralPorts binds 127.0.0.1:0 and closes the listener again and
// again, keeping the last 32 open, until ctx is done; it returns how many it
// bound.
func churnEphemeralPorts(ctx context.Context) int {
	var open []net.Listener
	defer func() {
		for _, l := range open {
			_ = l.Close()
		}
	}()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	bound := 0
	for {
		select {
		case <-ctx.Done():
			return bound
		case <-tick.C:
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			continue
		}
		bound++
		open = append(open, l)
		if len(open) > 32 {
			_ = open[0].Close()
			open = open[1:]
		}
	}
}

// createNamespace creates a namespace named after the test and deletes it
// when the test ends.
func createNamespace(t *testing.T, cs kubernetes.Interface, name string) string {
	t.Helper()
	_, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = cs.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}

// antiAffinityDeployment returns a Deployment whose pods must land on
// distinct nodes.
func antiAffinityDeployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
						RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
							LabelSelector: &metav1.LabelSelector{MatchLabels: labels},
							TopologyKey:   HostnameLabel,
						}},
					}},
					Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}},
				},
			},
		},
	}
}

// grantListPods lets the ServiceAccount list pods in ns.
func grantListPods(t *testing.T, cs kubernetes.Interface, ns, sa string) {
	t.Helper()
	_, err := cs.RbacV1().Roles(ns).Create(t.Context(), &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "list-pods"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = cs.RbacV1().RoleBindings(ns).Create(t.Context(), &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "list-pods"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "list-pods"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: ns}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// podSummary describes pods for failure messages.
func podSummary(pods []corev1.Pod) []string {
	out := make([]string, 0, len(pods))
	for _, p := range pods {
		out = append(out, fmt.Sprintf("%s phase=%s node=%q", p.Name, p.Status.Phase, p.Spec.NodeName))
	}
	return out
}
