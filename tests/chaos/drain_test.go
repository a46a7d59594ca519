//go:build unix

package chaos

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/primus-dev/primus/internal/hacheck/podrunner"
)

// TestNodeDrain drains the three nodes one by one like `kubectl drain`
// (cordon, evict through the eviction API retrying on 429, wait for the
// Pods to be gone), waits for the release to settle elsewhere and uncordons
// the node so the next drain's replacements have room. The budget must
// hold at every moment, and leadership moves once when the leader's node
// is drained and never otherwise.
func TestNodeDrain(t *testing.T) {
	requireCluster(t)
	start := time.Now()
	d := newDisruption(t)
	_, first := d.waitSettled(disruptionReplicas, "")
	pdb, err := d.kube.PolicyV1().PodDisruptionBudgets(d.ns).Get(d.ctx, disruptionRelease, metav1.GetOptions{})
	require.NoError(t, err)
	require.NotNil(t, pdb.Spec.MaxUnavailable, "the chart's default budget")
	desired := disruptionReplicas - pdb.Spec.MaxUnavailable.IntValue()
	t.Logf("installed and settled in %s; leader %s; budget: at least %d of %d Ready",
		time.Since(start).Round(100*time.Millisecond), first, desired, disruptionReplicas)

	mon := d.startMonitor("drain")
	var results []drainResult
	for _, node := range testCluster.NodeNames() {
		mon.Phase("drain " + node)
		results = append(results, d.drain(node, desired))
		d.uncordon(node)
	}
	phases := mon.Stop(desired)

	t.Logf("node drains (pods were ready and serving before each next drain):")
	refused, evicted, leaderDrains := 0, 0, 0
	for _, r := range results {
		t.Logf("  %s", r)
		refused += r.Refused
		evicted += len(r.Evicted)
		assert.Empty(t, r.OverBudget, "drain of %s: evictions the budget should have refused", r.Node)
		if r.HeldLeader {
			leaderDrains++
			// A node can hold two replicas (a replacement scheduled there
			// while another node was cordoned), and the first new leader
			// may be the other one, so leadership can move once per
			// evicted Pod, but only ever away from a Pod being drained.
			assert.GreaterOrEqual(t, r.Moves, 1, "draining the leader's node %s moves leadership", r.Node)
			assert.LessOrEqual(t, r.Moves, len(r.Evicted), "draining %s moves leadership at most once per evicted Pod", r.Node)
			assert.Subset(t, r.Evicted, r.MovedFrom, "draining %s moves leadership only away from its own Pods", r.Node)
		} else {
			assert.Zero(t, r.Moves, "draining %s, which ran no leader, moves no leadership", r.Node)
		}
	}
	for _, p := range phases[1:] {
		t.Logf("  %s", p)
		assert.GreaterOrEqual(t, p.MinReady, desired, "%s: Ready pods fell below the budget at %s", p.Name, p.MinReadyAt)
		assert.GreaterOrEqual(t, p.ExactReady.ReadyPods, desired, "%s: Ready pods fell below the budget at %s", p.Name, p.ExactReady.Time)
		assert.LessOrEqual(t, p.MaxLeaders, 1, "%s: two processes led at once: %v", p.Name, p.MultipleLeaders)
		assert.Zero(t, p.Errors, "%s: samples that could not list pods", p.Name)
	}
	assert.GreaterOrEqual(t, evicted, disruptionReplicas, "every node held a replica at least once")
	assert.GreaterOrEqual(t, leaderDrains, 1, "the leader ran on some node")
	t.Logf("%d evictions, %d refused with 429 and retried", evicted, refused)
	d.checkNoOverlap(start)
	d.logLeaderChanges()
	t.Logf("drain suite took %s", time.Since(start).Round(100*time.Millisecond))
}

// drainEvictionRetry is how long `kubectl drain` waits before it asks again
// for an eviction the API refused with 429 (the budget allows no
// disruption right now).
const drainEvictionRetry = 5 * time.Second

// drainResult is what the drain of one node did.
type drainResult struct {
	Node string
	// Evicted are the Pods the API let go.
	Evicted []string
	// Refused counts evictions answered 429, each retried.
	Refused int
	// HeldLeader is true when the Lease's holder ran on the node.
	HeldLeader bool
	// Moves counts leadership moves from the cordon until the release
	// settled again.
	Moves int
	// MovedFrom are the Pods leadership left in those moves.
	MovedFrom []string
	// OverBudget describes every eviction the API allowed although fewer
	// than the budget's desired healthy Pods were left Ready.
	OverBudget []string
	Took       time.Duration
}

func (r drainResult) String() string {
	return fmt.Sprintf("%s: evicted %v, %d eviction(s) refused with 429, leader on node %v, leadership moved %d time(s) away from %v, %s",
		r.Node, r.Evicted, r.Refused, r.HeldLeader, r.Moves, r.MovedFrom, r.Took.Round(100*time.Millisecond))
}

// drain drains node as `kubectl drain` does, then waits for the release to
// settle off the node.
func (d *disruption) drain(node string, desired int) drainResult {
	d.t.Helper()
	start := time.Now()
	res := drainResult{Node: node}
	require.NoError(d.t, testCluster.CordonNode(d.ctx, node))
	// A failed drain must not leave the node cordoned for the next test.
	d.t.Cleanup(func() { _ = d.setUnschedulable(context.Background(), node, false) })

	pods, err := d.livePods(d.ctx)
	require.NoError(d.t, err)
	holder := d.runner.LeaseHolder()
	res.HeldLeader = slices.ContainsFunc(pods, func(p corev1.Pod) bool { return p.Name == holder && p.Spec.NodeName == node })
	var mu sync.Mutex
	var wg sync.WaitGroup
	var gone []corev1.Pod
	for _, p := range pods {
		if p.Spec.NodeName != node {
			continue
		}
		gone = append(gone, p)
		wg.Go(func() {
			refused, overBudget, err := d.evict(p, desired)
			mu.Lock()
			defer mu.Unlock()
			res.Refused += refused
			res.OverBudget = append(res.OverBudget, overBudget...)
			if assert.NoError(d.t, err, "evict %s", p.Name) {
				res.Evicted = append(res.Evicted, p.Name)
			}
		})
	}
	wg.Wait()
	slices.Sort(res.Evicted)
	d.waitGone(gone)
	d.waitSettled(disruptionReplicas, node)
	res.Moves = d.runner.Moves(start)
	res.MovedFrom = podrunner.MovedFrom(d.runner.LeaderChanges(), start)
	res.Took = time.Since(start)
	return res
}

// evict evicts pod through the eviction API until it is allowed, waiting
// drainEvictionRetry after each 429 as kubectl does. After an allowed eviction
// it checks the budget held: at least desired other Pods Ready.
func (d *disruption) evict(pod corev1.Pod, desired int) (refused int, overBudget []string, err error) {
	eviction := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace}}
	for {
		err := d.kube.PolicyV1().Evictions(pod.Namespace).Evict(d.ctx, eviction)
		switch {
		case apierrors.IsTooManyRequests(err):
			refused++
			select {
			case <-time.After(drainEvictionRetry):
				continue
			case <-d.ctx.Done():
				return refused, overBudget, d.ctx.Err()
			}
		case apierrors.IsNotFound(err):
			return refused, overBudget, nil
		case err != nil:
			return refused, overBudget, err
		}
		pods, err := d.livePods(d.ctx)
		if err != nil {
			return refused, overBudget, err
		}
		others := slices.DeleteFunc(pods, func(p corev1.Pod) bool { return p.UID == pod.UID })
		if ready := readyPods(others); ready < desired {
			overBudget = append(overBudget, fmt.Sprintf("%s evicted with %d other pod(s) Ready: %s", pod.Name, ready, podsLine(others)))
		}
		return refused, overBudget, nil
	}
}

// waitGone waits until pods are deleted and their processes have exited,
// as kubectl drain waits for the deletion the kubelet completes.
func (d *disruption) waitGone(pods []corev1.Pod) {
	d.t.Helper()
	uids := map[types.UID]string{}
	for _, p := range pods {
		uids[p.UID] = p.Name
	}
	var last string
	err := wait.PollUntilContextTimeout(d.ctx, 100*time.Millisecond, settleTimeout, true, func(ctx context.Context) (bool, error) {
		live, err := d.livePods(ctx)
		if err != nil {
			return false, err
		}
		for _, p := range live {
			if _, ok := uids[p.UID]; ok {
				last = "pod " + p.Name + " still there"
				return false, nil
			}
		}
		for _, i := range d.runner.Instances() {
			if _, ok := uids[i.UID]; ok && i.Phase != podrunner.PhaseExited {
				last = "process of " + i.Pod + " still " + string(i.Phase)
				return false, nil
			}
		}
		return true, nil
	})
	require.NoError(d.t, err, "evicted pods never went: %s", last)
}

// uncordon marks node schedulable again, as `kubectl uncordon` does.
func (d *disruption) uncordon(node string) {
	d.t.Helper()
	require.NoError(d.t, d.setUnschedulable(d.ctx, node, false))
}

// setUnschedulable sets node's spec.unschedulable.
func (d *disruption) setUnschedulable(ctx context.Context, node string, unschedulable bool) error {
	patch := fmt.Sprintf(`{"spec":{"unschedulable":%t}}`, unschedulable)
	if _, err := d.kube.CoreV1().Nodes().Patch(ctx, node, types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("set node %s unschedulable=%t: %w", node, unschedulable, err)
	}
	return nil
}

// podMonitorInterval is how often the monitor samples: "at every moment".
const podMonitorInterval = 150 * time.Millisecond

// monitorPhase is what the monitor saw during one named phase of a test.
type monitorPhase struct {
	Name       string
	Start, End time.Time
	Samples    int
	// MinReady is the fewest live Pods Running and Ready (the API's view,
	// what the PodDisruptionBudget counts), and MinReadyAt what they were.
	MinReady   int
	MinReadyAt string
	// MinServing is the fewest processes of live Pods answering /readyz.
	MinServing int
	// MaxLeaders is the most processes that said they lead at once, after
	// a second look (see podMonitor.sample).
	MaxLeaders int
	// MultipleLeaders describes every confirmed sample with two leaders.
	MultipleLeaders []string
	// Errors counts samples that could not list the Pods.
	Errors int

	// Exact are the lowest counts of the podrunner's Census during the
	// phase: every Pod event and readiness answer, no sampling.
	ExactReady, ExactServing podrunner.Census
	// ServingBelowBudget is how long fewer processes than the budget's
	// desired healthy Pods served.
	ServingBelowBudget time.Duration
}

func (p *monitorPhase) String() string {
	return fmt.Sprintf("%-18s polled %3d times: min ready pods %d, min serving %d, max leaders %d; "+
		"every event: min ready pods %d, min serving %d (below the budget for %s)",
		p.Name, p.Samples, p.MinReady, p.MinServing, p.MaxLeaders,
		p.ExactReady.ReadyPods, p.ExactServing.Serving, p.ServingBelowBudget.Round(time.Millisecond))
}

// podMonitor samples the release every podMonitorInterval, in the background,
// under the name of the current phase.
type podMonitor struct {
	d      *disruption
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	phases []*monitorPhase
}

// startMonitor starts sampling under phase name.
func (d *disruption) startMonitor(name string) *podMonitor {
	ctx, cancel := context.WithCancel(context.Background())
	m := &podMonitor{d: d, cancel: cancel, done: make(chan struct{})}
	m.Phase(name)
	go m.run(ctx)
	d.t.Cleanup(func() { m.Stop(0) })
	return m
}

// Phase starts a new phase: later samples count under name.
func (m *podMonitor) Phase(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if n := len(m.phases); n > 0 {
		m.phases[n-1].End = now
	}
	m.phases = append(m.phases, &monitorPhase{Name: name, Start: now, MinReady: math.MaxInt, MinServing: math.MaxInt})
}

// Stop stops sampling, computes the exact lowest counts of each phase with
// the budget's desired healthy Pods, and returns the phases. It is safe to
// call twice.
func (m *podMonitor) Stop(desired int) []*monitorPhase {
	m.cancel()
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	history := m.d.runner.Census()
	for i, p := range m.phases {
		if i == len(m.phases)-1 && p.End.IsZero() {
			p.End = time.Now()
		}
		p.ExactReady, p.ExactServing, _ = podrunner.Lowest(history, p.Start, p.End)
		p.ServingBelowBudget = podrunner.TimeBelow(history, p.Start, p.End, func(c podrunner.Census) int { return c.Serving }, desired)
	}
	return m.phases
}

func (m *podMonitor) run(ctx context.Context) {
	defer close(m.done)
	tick := time.NewTicker(podMonitorInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		m.sample(ctx)
	}
}

// sample counts the Ready Pods, the serving processes and the leading
// processes once. Two processes saying they lead may be a handover seen
// half before and half after: they are asked again at once, and only a
// second answer with two leaders counts.
func (m *podMonitor) sample(ctx context.Context) {
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	pods, err := m.d.livePods(sctx)
	serving := len(m.d.runner.Serving())
	leaders := m.d.runner.Leaders(sctx)
	if len(leaders) > 1 {
		leaders = m.d.runner.Leaders(sctx)
	}
	if ctx.Err() != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.phases[len(m.phases)-1]
	p.Samples++
	if err != nil {
		p.Errors++
		return
	}
	if ready := readyPods(pods); ready < p.MinReady {
		p.MinReady = ready
		p.MinReadyAt = time.Now().Format("15:04:05.000") + " " + podsLine(pods)
	}
	p.MinServing = min(p.MinServing, serving)
	p.MaxLeaders = max(p.MaxLeaders, len(leaders))
	if len(leaders) > 1 {
		p.MultipleLeaders = append(p.MultipleLeaders, time.Now().Format("15:04:05.000")+" "+strings.Join(leaders, ","))
	}
}
