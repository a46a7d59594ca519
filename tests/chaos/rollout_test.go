//go:build unix

package chaos

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gruntwork-io/terratest/modules/random"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/primus-dev/primus/internal/hacheck/audit"
	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/hacheck/failover"
	"github.com/primus-dev/primus/internal/hacheck/install"
	"github.com/primus-dev/primus/internal/hacheck/podrunner"
	"github.com/primus-dev/primus/internal/hacheck/render"
	"github.com/primus-dev/primus/internal/hacheck/replica"
	"github.com/primus-dev/primus/internal/platform/leader"
	"github.com/primus-dev/primus/internal/testharness/clustertest"
	"github.com/primus-dev/primus/internal/testharness/syncbuf"
)

// TestRolloutAndScale walks a release through what operators do with helm:
// a rolling update (`helm upgrade --reuse-values --set
// podAnnotations.restartedAt=...`, as `kubectl rollout restart` sets one)
// and a scale 3 -> 1 -> 3. Leadership moves at most once per rollout; on
// the scale-down the ReplicaSet keeps the leader (the pod-deletion-cost
// the leader sets on its own Pod), so leadership does not move at all; and
// an API client calling every serving replica every 200 ms sees no error.
func TestRolloutAndScale(t *testing.T) {
	requireCluster(t)
	start := time.Now()
	d := newDisruption(t)
	pods, leaderPod := d.waitSettled(disruptionReplicas, "")
	t.Logf("installed and settled in %s; leader %s", time.Since(start).Round(100*time.Millisecond), leaderPod)

	prober := replica.StartProber(d.servingReplicas, d.token(), 200*time.Millisecond)
	t.Cleanup(func() { prober.Close() })
	mon := d.startMonitor("settled")

	steps := []struct {
		name     string
		set      []string
		replicas int
		maxMoves int
		// check runs on the settled release after the step.
		check func(t *testing.T, before, after []corev1.Pod, leaderBefore string)
	}{
		{
			name: "rolling update", replicas: disruptionReplicas, maxMoves: 1,
			set: []string{"podAnnotations.restartedAt=" + time.Now().UTC().Format(time.RFC3339)},
			check: func(t *testing.T, before, after []corev1.Pod, _ string) {
				for _, p := range after {
					assert.False(t, slices.ContainsFunc(before, func(b corev1.Pod) bool { return b.UID == p.UID }),
						"pod %s was not replaced", p.Name)
				}
			},
		},
		{
			name: "scale 3 -> 1", replicas: 1, maxMoves: 0, set: []string{"replicaCount=1"},
			check: func(t *testing.T, _, after []corev1.Pod, leaderBefore string) {
				assert.Equal(t, leaderBefore, after[0].Name, "the ReplicaSet kept the leader's pod (pod-deletion-cost)")
			},
		},
		{
			name: "scale 1 -> 3", replicas: disruptionReplicas, maxMoves: 0, set: []string{"replicaCount=3"},
		},
	}
	for _, st := range steps {
		mon.Phase(st.name)
		stepStart := time.Now()
		d.upgrade(st.set)
		after, leaderAfter := d.waitSettled(st.replicas, "")
		moves := d.runner.Moves(stepStart)
		t.Logf("%s: settled after %s; leader %s -> %s; leadership moved %d time(s)",
			st.name, time.Since(stepStart).Round(100*time.Millisecond), leaderPod, leaderAfter, moves)
		assert.LessOrEqual(t, moves, st.maxMoves, "%s: leadership moves", st.name)
		if st.check != nil {
			st.check(t, pods, after, leaderPod)
		}
		pods, leaderPod = after, leaderAfter
	}
	phases := mon.Stop(disruptionReplicas - 1)
	result := prober.Close()

	for _, p := range phases[1:] {
		t.Logf("  %s", p)
		assert.LessOrEqual(t, p.MaxLeaders, 1, "%s: two processes led at once: %v", p.Name, p.MultipleLeaders)
		assert.Zero(t, p.Errors, "%s: samples that could not list pods", p.Name)
		if p.Name == "rolling update" {
			assert.GreaterOrEqual(t, p.MinReady, disruptionReplicas-1, "rolling update: Ready pods fell below replicas-1 at %s", p.MinReadyAt)
			assert.GreaterOrEqual(t, p.ExactReady.ReadyPods, disruptionReplicas-1, "rolling update: Ready pods fell below replicas-1 at %s", p.ExactReady.Time)
		}
	}
	t.Logf("API probes of serving replicas: %d calls, %d failures", result.Calls, len(result.Failures))
	for _, f := range result.Failures {
		t.Logf("  %s %s: %s", f.Time.Format("15:04:05.000"), f.Replica, f.Error)
	}
	assert.Empty(t, result.Failures, "replicas that are not being stopped answer throughout")
	assert.Positive(t, result.Calls)
	d.checkNoOverlap(start)
	d.logLeaderChanges()
	t.Logf("rollout suite took %s", time.Since(start).Round(100*time.Millisecond))
}

const (
	// disruptionRelease is the release the disruption suites install.
	disruptionRelease = "primus"
	// disruptionLease is the chart's default Lease name for it.
	disruptionLease = disruptionRelease + "-leader"
	// disruptionSelector selects the release's Pods.
	disruptionSelector = "app.kubernetes.io/instance=" + disruptionRelease
	// disruptionReplicas is the replica count the suites install.
	disruptionReplicas = 3
	// settleTimeout bounds the wait for the release to settle after a step.
	settleTimeout = 90 * time.Second
)

// disruptionValues are the values the disruption suites install: three
// replicas, and, for speed, the fastest lease timings and a 2 s preStop
// sleep (the chart's default is 5 s).
func disruptionValues() []string {
	return append([]string{fmt.Sprintf("replicaCount=%d", disruptionReplicas), "shutdownDelaySeconds=2"}, fastTimings...)
}

// disruption is one release in its own namespace, installed with the Helm
// SDK as `helm install` does, with a podrunner running the real binary for
// its Pods.
type disruption struct {
	t      *testing.T
	ctx    context.Context
	ns     string
	kube   kubernetes.Interface
	runner *podrunner.Runner
	log    *syncbuf.Buffer
}

// newDisruption installs the chart with disruptionValues in a new
// namespace and starts a podrunner for its Pods. Cleanup stops the
// processes, uninstalls and deletes the namespace; after a failure it
// prints the runner's log and the tail of every process's log.
func newDisruption(t *testing.T) *disruption {
	t.Helper()
	d := &disruption{
		t: t, ctx: t.Context(), ns: "chaos-" + strings.ToLower(random.UniqueId()),
		kube: testCluster.Clientset(), log: &syncbuf.Buffer{},
	}
	_, err := d.kube.CoreV1().Namespaces().Create(d.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: d.ns}}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := install.Uninstall(d.releaseOptions(nil, false)); err != nil {
			t.Logf("uninstall: %v", err)
		}
		_ = d.kube.CoreV1().Namespaces().Delete(context.Background(), d.ns, metav1.DeleteOptions{})
	})
	_, err = install.Apply(d.ctx, d.releaseOptions(disruptionValues(), false))
	require.NoError(t, err, "helm install")

	runner, err := podrunner.Start(d.ctx, podrunner.Options{
		Kube: d.kube, Namespace: d.ns, Selector: disruptionSelector, Lease: disruptionLease,
		Starter: &podrunner.ReplicaStarter{
			Binary: primusBin, Kube: d.kube, Config: testCluster.RESTConfig(), Dir: t.TempDir(),
		},
		SetPodStatus: testCluster.Readiness() == cluster.ReadyByRunner,
		Log:          slog.New(slog.NewTextHandler(d.log, nil)),
	})
	require.NoError(t, err)
	d.runner = runner
	t.Cleanup(func() {
		clustertest.CloseWithin(t, "stop the pods' processes", runner.Close)
		if t.Failed() {
			d.dumpLogs()
		}
	})
	return d
}

// releaseOptions are the Helm options of the release with --set values.
func (d *disruption) releaseOptions(set []string, reuseValues bool) install.Options {
	return install.Options{
		Kubeconfig:  testCluster.Kubeconfig(),
		Render:      render.Options{Chart: chartPath(), ReleaseName: disruptionRelease, Namespace: d.ns, Set: set},
		ReuseValues: reuseValues,
	}
}

// upgrade runs the operator's `helm upgrade --reuse-values --set ...`.
func (d *disruption) upgrade(set []string) {
	d.t.Helper()
	_, err := install.Apply(d.ctx, d.releaseOptions(set, true))
	require.NoError(d.t, err, "helm upgrade --reuse-values --set %v", set)
}

// livePods lists the release's Pods that are not being deleted.
func (d *disruption) livePods(ctx context.Context) ([]corev1.Pod, error) {
	list, err := d.kube.CoreV1().Pods(d.ns).List(ctx, metav1.ListOptions{LabelSelector: disruptionSelector})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(list.Items, func(p corev1.Pod) bool { return p.DeletionTimestamp != nil }), nil
}

// waitSettled waits until the release rests with n replicas: the
// Deployment rolled out; n live Pods, Running and Ready, none on
// avoidNode, each with a serving process; every process of a gone Pod
// exited; one process leading, the Lease's holder; and only the leader's
// Pod carrying the leader's pod-deletion-cost. It returns the live Pods
// and the leader.
func (d *disruption) waitSettled(n int, avoidNode string) ([]corev1.Pod, string) {
	d.t.Helper()
	var pods []corev1.Pod
	var holder, last string
	err := wait.PollUntilContextTimeout(d.ctx, 100*time.Millisecond, settleTimeout, true, func(ctx context.Context) (bool, error) {
		var reason string
		pods, holder, reason = d.settled(ctx, n, avoidNode)
		last = reason
		return reason == "", nil
	})
	require.NoError(d.t, err, "release %s/%s never settled with %d replicas: %s", d.ns, disruptionRelease, n, last)
	return pods, holder
}

// settled checks waitSettled's conditions once. It returns the live Pods
// and the leader, or what does not hold yet.
func (d *disruption) settled(ctx context.Context, n int, avoidNode string) (pods []corev1.Pod, holder, notYet string) {
	dep, err := d.kube.AppsV1().Deployments(d.ns).Get(ctx, disruptionRelease, metav1.GetOptions{})
	if err != nil {
		return nil, "", err.Error()
	}
	if !deploymentRolledOut(dep, n) {
		return nil, "", fmt.Sprintf("deployment not rolled out: %+v", dep.Status)
	}
	if pods, err = d.livePods(ctx); err != nil {
		return nil, "", err.Error()
	}
	if len(pods) != n || readyPods(pods) != n {
		return nil, "", fmt.Sprintf("%d live pods, %d ready: %s", len(pods), readyPods(pods), podsLine(pods))
	}
	live := map[string]bool{}
	for _, p := range pods {
		if p.Spec.NodeName == avoidNode {
			return nil, "", fmt.Sprintf("pod %s is on cordoned node %s", p.Name, avoidNode)
		}
		live[p.Name] = true
	}
	for _, i := range d.runner.Instances() {
		switch {
		case live[i.Pod] && !i.Serving():
			return nil, "", fmt.Sprintf("process of %s not serving (%s, ready %v)", i.Pod, i.Phase, i.Ready)
		case !live[i.Pod] && i.Phase != podrunner.PhaseExited:
			return nil, "", fmt.Sprintf("process of gone pod %s still %s", i.Pod, i.Phase)
		}
	}
	if got := len(d.runner.Serving()); got != n {
		return nil, "", fmt.Sprintf("%d serving processes", got)
	}
	holder = d.runner.LeaseHolder()
	if !live[holder] {
		return nil, "", fmt.Sprintf("lease holder %q is not a live pod", holder)
	}
	if leaders := d.runner.Leaders(ctx); !slices.Equal(leaders, []string{holder}) {
		return nil, "", fmt.Sprintf("processes leading: %v, lease holder %s", leaders, holder)
	}
	for _, p := range pods {
		cost, want := p.Annotations[leader.DeletionCostAnnotation], ""
		if p.Name == holder {
			want = leader.LeaderDeletionCost
		}
		if cost != want {
			return nil, "", fmt.Sprintf("pod %s has deletion cost %q, want %q (leader %s)", p.Name, cost, want, holder)
		}
	}
	return pods, holder, ""
}

// deploymentRolledOut reports whether d has n updated, ready replicas and
// no others.
func deploymentRolledOut(d *appsv1.Deployment, n int) bool {
	return d.Status.ObservedGeneration >= d.Generation && d.Spec.Replicas != nil && int(*d.Spec.Replicas) == n &&
		int(d.Status.UpdatedReplicas) == n && int(d.Status.ReadyReplicas) == n && int(d.Status.Replicas) == n
}

// podIsReady reports whether p is Running with a Ready condition that is
// True: what the disruption controller and the Deployment count.
func podIsReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// readyPods counts the Ready pods of pods.
func readyPods(pods []corev1.Pod) int {
	n := 0
	for i := range pods {
		if podIsReady(&pods[i]) {
			n++
		}
	}
	return n
}

// podsLine prints pods the way `kubectl get po -o wide` does, on one line.
func podsLine(pods []corev1.Pod) string {
	var b strings.Builder
	for _, p := range pods {
		fmt.Fprintf(&b, "[%s %s ready=%v node=%s] ", p.Name, p.Status.Phase, podIsReady(&p), p.Spec.NodeName)
	}
	return b.String()
}

// servingReplicas returns the replica of every serving process, for a
// replica.Prober: the API must answer on each of them.
func (d *disruption) servingReplicas() []*replica.Replica {
	var out []*replica.Replica
	for _, i := range d.runner.Instances() {
		if p, ok := i.Process.(*podrunner.ReplicaProcess); ok && i.Serving() {
			out = append(out, p.Replica)
		}
	}
	return out
}

// token returns a token of the release's ServiceAccount, which the chart's
// ClusterRole lets list Projects: the API prober's credentials.
func (d *disruption) token() string {
	d.t.Helper()
	tr, err := d.kube.CoreV1().ServiceAccounts(d.ns).CreateToken(d.ctx, disruptionRelease, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: new(int64(3600))},
	}, metav1.CreateOptions{})
	require.NoError(d.t, err)
	return tr.Status.Token
}

// checkNoOverlap checks that no two processes led at once since start:
// from the API server's audit log, every controller write of every
// process of every Pod the runner ran falls in its own leadership.
// Without an audit log, from every process's own log.
func (d *disruption) checkNoOverlap(start time.Time) *audit.Record {
	d.t.Helper()
	pods := map[string]bool{}
	for _, i := range d.runner.Instances() {
		pods[i.Pod] = true
	}
	return checkNoSplitBrain(d.t, d.ns, disruptionLease, pods, start, func() {
		var timelines []failover.Timeline
		for _, i := range d.runner.Instances() {
			for n, proc := range i.Processes {
				p, ok := proc.(*podrunner.ReplicaProcess)
				if !ok {
					continue
				}
				events, err := p.Events()
				require.NoError(d.t, err)
				tl := failover.Timeline{Identity: fmt.Sprintf("%s#%d", i.Pod, n), Events: events, Ended: p.ExitedAt()}
				timelines = append(timelines, tl)
			}
		}
		assert.Empty(d.t, failover.Overlaps(timelines, failover.Interval{Start: start, End: time.Now()}),
			"two processes led at once, by their own logs")
	})
}

// logLeaderChanges prints the Lease's holder history.
func (d *disruption) logLeaderChanges() {
	d.t.Helper()
	d.t.Logf("lease holders:")
	for _, c := range d.runner.LeaderChanges() {
		d.t.Logf("  %s %q -> %q (transitions %d)", c.Time.Format("15:04:05.000"), c.From, c.To, c.Transitions)
	}
}

// dumpLogs prints the runner's log and the tail of every process's log.
func (d *disruption) dumpLogs() {
	d.t.Logf("--- podrunner log ---\n%s", d.log.String())
	for _, i := range d.runner.Instances() {
		if p, ok := i.Process.(*podrunner.ReplicaProcess); ok {
			d.t.Logf("--- %s (%s, %d restarts), last lines ---\n%s", i.Pod, i.Phase, i.Restarts, p.Tail(25))
		}
	}
}
