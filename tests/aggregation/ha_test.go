//go:build linux

package aggregation

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/primus-dev/primus/internal/hacheck/install"
)

// haInterval is how often the client of TestAggregatedAPIStaysUp sends a
// request: a list, then a create, and so on.
const haInterval = 100 * time.Millisecond

// outcome is one request of the client.
type outcome struct {
	phase string
	op    string
	at    time.Time
	err   error
}

// client lists and creates Projects as alice through the kube-apiserver
// every haInterval until stopped, tagging each outcome with the phase the
// test is in.
type client struct {
	mu       sync.Mutex
	phase    string
	outcomes []outcome
	stop     context.CancelFunc
	done     chan struct{}
}

func startClient(t *testing.T, ns string) *client {
	t.Helper()
	projects := as(t, "alice")
	ctx, cancel := context.WithCancel(context.Background())
	c := &client{phase: "steady", stop: cancel, done: make(chan struct{})}
	label := map[string]string{"primus.dev/test": ns}
	go func() {
		defer close(c.done)
		tick := time.NewTicker(haInterval)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			at := time.Now()
			rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
			var op string
			var err error
			if i%2 == 0 {
				op = "list"
				_, err = projects.List(rctx, metav1.ListOptions{})
			} else {
				op = "create"
				pr := project(fmt.Sprintf("ha-%s-%d", ns, i), map[string]string{"alice": "admin"})
				pr.SetLabels(label)
				_, err = projects.Create(rctx, pr, metav1.CreateOptions{})
			}
			rcancel()
			if ctx.Err() != nil {
				return // stopped mid-request: not an outcome
			}
			c.mu.Lock()
			c.outcomes = append(c.outcomes, outcome{phase: c.phase, op: op, at: at, err: err})
			c.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		c.close()
		dyn, err := dynamic.NewForConfig(testCluster.RESTConfig())
		if err != nil {
			return
		}
		list, err := dyn.Resource(crdProjects).List(context.Background(), metav1.ListOptions{LabelSelector: "primus.dev/test=" + ns})
		if err != nil {
			return
		}
		var names []string
		for _, item := range list.Items {
			names = append(names, item.GetName())
		}
		removeProjects(t, names...)
	})
	return c
}

func (c *client) setPhase(p string) {
	c.mu.Lock()
	c.phase = p
	c.mu.Unlock()
}

func (c *client) close() {
	c.stop()
	<-c.done
}

// byPhase returns, per phase, the number of requests and the failed ones.
func (c *client) byPhase() (total map[string]int, failed map[string][]outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	total, failed = map[string]int{}, map[string][]outcome{}
	for _, o := range c.outcomes {
		total[o.phase]++
		if o.err != nil {
			failed[o.phase] = append(failed[o.phase], o)
		}
	}
	return total, failed
}

// TestAggregatedAPIStaysUp keeps a client listing and creating Projects
// through the aggregator every 100 ms while the leader is killed, the
// Deployment rolls and a node is drained. The rollout and the drain stop
// replicas gracefully (the endpoint goes at deletion, the replica serves
// through its shutdown delay): not one request may fail. A kill -9 leaves
// the aggregator a dead endpoint until the Pod is marked not Ready: those
// failures are counted and reported, and each must be the aggregator's
// 503, not an error of the API.
func TestAggregatedAPIStaysUp(t *testing.T) {
	// The chart's default shutdown delay (5 s): the time the Service's
	// endpoints get to drop a stopping replica, which the graceful phases
	// below rely on.
	p := installPlatform(t, 3, "shutdownDelaySeconds=5")
	grant(t, "agg-ha-"+p.ns, "alice")
	p.waitReady(t, 3)
	c := startClient(t, p.ns)
	p.waitRequests(t, c, "steady", 20)

	c.setPhase("leader killed")
	leaders := p.runner.Leaders(t.Context())
	require.Len(t, leaders, 1, "one leader")
	inst, ok := p.runner.Instance(leaders[0])
	require.True(t, ok)
	require.NoError(t, inst.Process.Signal(syscall.SIGKILL))
	p.waitRestarted(t, leaders[0], len(inst.Processes))
	p.waitReady(t, 3)
	p.waitRequests(t, c, "leader killed", 10)

	c.setPhase("rollout")
	opts := p.opts
	opts.ReuseValues = true
	opts.Render.Set = nil
	opts.Render.SetString = []string{"podAnnotations.rollout=" + strconv.FormatInt(time.Now().UnixNano(), 10)}
	opts.Render.Values = nil
	_, err := install.Apply(t.Context(), opts)
	require.NoError(t, err, "helm upgrade --reuse-values")
	p.waitRolledOut(t, 3)
	p.waitRequests(t, c, "rollout", 10)

	c.setPhase("drain")
	p.drainOne(t)
	p.waitReady(t, 3)
	p.waitRequests(t, c, "drain", 10)
	c.close()

	total, failed := c.byPhase()
	for _, phase := range []string{"steady", "leader killed", "rollout", "drain"} {
		t.Logf("%-13s %4d requests, %d failed", phase, total[phase], len(failed[phase]))
		for _, o := range failed[phase] {
			t.Logf("  %s at %s: %v", o.op, o.at.UTC().Format("15:04:05.000"), o.err)
		}
	}
	for _, phase := range []string{"steady", "rollout", "drain"} {
		assert.Empty(t, failed[phase], "%s: no request may fail", phase)
	}
	for _, o := range failed["leader killed"] {
		assert.True(t, apierrors.IsServiceUnavailable(o.err), "after kill -9, only the aggregator's 503 for the dead endpoint: %v", o.err)
	}
}

// waitRequests waits until the client has sent n more requests in phase.
func (p *platform) waitRequests(t *testing.T, c *client, phase string, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		total, _ := c.byPhase()
		return total[phase] >= n
	}, time.Minute, haInterval, "the client sent fewer than %d requests in %s", n, phase)
}

// waitReady waits until n Pods of the release are Ready and not being
// deleted.
func (p *platform) waitReady(t testing.TB, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return len(p.readyPods(t)) == n }, 2*time.Minute, 200*time.Millisecond,
		"never %d Ready pods", n)
}

func (p *platform) readyPods(t testing.TB) []corev1.Pod {
	pods, err := testCluster.Clientset().CoreV1().Pods(p.ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=" + release})
	if err != nil {
		return nil
	}
	var ready []corev1.Pod
	for _, pod := range pods.Items {
		if pod.DeletionTimestamp == nil && podReady(&pod) {
			ready = append(ready, pod)
		}
	}
	return ready
}

// waitRestarted waits until pod runs a process after its before-th.
func (p *platform) waitRestarted(t *testing.T, pod string, before int) {
	t.Helper()
	require.Eventually(t, func() bool {
		i, ok := p.runner.Instance(pod)
		return ok && len(i.Processes) > before && i.Ready
	}, time.Minute, 100*time.Millisecond, "%s never restarted", pod)
}

// waitRolledOut waits until the Deployment's n replicas are all updated,
// Ready, and no old Pod is left.
func (p *platform) waitRolledOut(t *testing.T, n int) {
	t.Helper()
	kube := testCluster.Clientset()
	require.Eventually(t, func() bool {
		d, err := kube.AppsV1().Deployments(p.ns).Get(t.Context(), release, metav1.GetOptions{})
		if err != nil || d.Status.ObservedGeneration < d.Generation {
			return false
		}
		pods, err := kube.CoreV1().Pods(p.ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=" + release})
		return err == nil && d.Status.UpdatedReplicas == int32(n) && d.Status.ReadyReplicas == int32(n) && len(pods.Items) == n
	}, 3*time.Minute, 250*time.Millisecond, "the rollout never completed")
}

// drainOne cordons the node of one Ready Pod, evicts the Pod as kubectl
// drain does (honouring the PodDisruptionBudget), waits until it is gone
// and uncordons the node.
func (p *platform) drainOne(t *testing.T) {
	t.Helper()
	kube := testCluster.Clientset()
	ready := p.readyPods(t)
	require.NotEmpty(t, ready)
	victim := ready[0]
	node := victim.Spec.NodeName
	cordon := func(on bool) error {
		patch := fmt.Sprintf(`{"spec":{"unschedulable":%t}}`, on)
		_, err := kube.CoreV1().Nodes().Patch(context.Background(), node, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{})
		return err
	}
	require.NoError(t, cordon(true))
	t.Cleanup(func() { _ = cordon(false) })
	require.Eventually(t, func() bool {
		err := kube.PolicyV1().Evictions(p.ns).Evict(t.Context(), &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: victim.Name, Namespace: p.ns}})
		var status apierrors.APIStatus
		return err == nil || apierrors.IsNotFound(err) || !errors.As(err, &status)
	}, time.Minute, 500*time.Millisecond, "evict %s", victim.Name)
	require.Eventually(t, func() bool {
		_, err := kube.CoreV1().Pods(p.ns).Get(t.Context(), victim.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}, 2*time.Minute, 200*time.Millisecond, "%s never gone", victim.Name)
	require.NoError(t, cordon(false))
}
