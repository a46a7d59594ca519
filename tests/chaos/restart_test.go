//go:build unix

package chaos

import (
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/hacheck/podrunner"
	"github.com/primus-dev/primus/internal/platform/leader"
)

// TestLeaderRestartsInPlace is the most common production crash: the
// leader's container dies (kill -9) and the kubelet restarts it under the
// same Pod name, a second process in one Pod. The new leader (another
// Pod, or the restarted container itself) must take over within the crash
// bound (leaseDuration + 2 x retryPeriod), the Lease must count the
// transitions the audit log shows (a change of holder identity, none when
// the restarted process takes over as the same identity), and no process
// may write outside its own leadership.
func TestLeaderRestartsInPlace(t *testing.T) {
	requireCluster(t)
	start := time.Now()
	d := newDisruption(t)
	_, leaderPod := d.waitSettled(disruptionReplicas, "")
	before, err := d.kube.CoordinationV1().Leases(d.ns).Get(d.ctx, disruptionLease, metav1.GetOptions{})
	require.NoError(t, err)

	old, ok := d.runner.Instance(leaderPod)
	require.True(t, ok)
	killed := time.Now()
	require.NoError(t, old.Process.Signal(syscall.SIGKILL), "kill -9 the leader's container")

	// A new leader: the Lease names another identity (per-process
	// identities: the restarted container is a new candidate too), as the
	// runner's watch of the Lease saw it.
	bound := 4*time.Second + 2*time.Second // fastTimings: leaseDuration + 2 x retryPeriod
	oldIdentity := *before.Spec.HolderIdentity
	var change podrunner.LeaderChange
	require.Eventually(t, func() bool {
		for _, c := range d.runner.LeaderChanges() {
			if c.Time.After(killed) && c.To != "" && c.To != oldIdentity {
				change = c
				return true
			}
		}
		return false
	}, 2*bound+10*time.Second, 20*time.Millisecond, "nobody took the Lease after the leader's container was killed")
	holder, tookOver := leader.HolderPod(change.To), change.Time.Sub(killed)
	t.Logf("%s (%s) holds the Lease %s after kill -9 of %s's container", holder, change.To, tookOver.Round(time.Millisecond), leaderPod)
	assert.LessOrEqual(t, tookOver, bound, "time to a new leader after a restart in place")
	require.Eventually(t, func() bool {
		i, ok := d.runner.Instance(holder)
		if !ok || i.Process == nil {
			return false
		}
		leading, err := i.Process.Leading(d.ctx)
		return err == nil && leading
	}, 30*time.Second, 50*time.Millisecond, "the holder %s never reported primus_leader=1", holder)

	// The container restarted in place: same Pod, a second process, and
	// the restart in the Pod's status when the runner owns it.
	require.Eventually(t, func() bool {
		i, ok := d.runner.Instance(leaderPod)
		return ok && len(i.Processes) == 2 && i.Serving()
	}, time.Minute, 100*time.Millisecond, "the container of %s never restarted in place", leaderPod)
	if testCluster.Readiness() == cluster.ReadyByRunner {
		require.Eventually(t, func() bool {
			p, err := d.kube.CoreV1().Pods(d.ns).Get(d.ctx, leaderPod, metav1.GetOptions{})
			return err == nil && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount == 1 && podIsReady(p)
		}, time.Minute, 100*time.Millisecond, "Pod %s never showed its restart", leaderPod)
	}
	d.waitSettled(disruptionReplicas, "")

	after, err := d.kube.CoordinationV1().Leases(d.ns).Get(d.ctx, disruptionLease, metav1.GetOptions{})
	require.NoError(t, err)
	rec := d.checkNoOverlap(start)
	if rec == nil {
		return
	}
	// The Lease counts a transition per change of holder identity since
	// the kill; the audit log has every tenure.
	changes, prev := 0, ""
	for _, tn := range rec.Tenures {
		if !tn.Start.Before(killed) && prev != "" && tn.Process.Identity != prev {
			changes++
		}
		prev = tn.Process.Identity
	}
	assert.Equal(t, *before.Spec.LeaseTransitions+int32(changes), *after.Spec.LeaseTransitions,
		"the Lease's transitions are the holder changes the audit log shows")
	var pids []int
	for _, p := range rec.Processes {
		if leader.HolderPod(p.Identity) == leaderPod {
			pids = append(pids, p.PID)
		}
	}
	t.Logf("audit log: processes of Pod %s: pids %v; tenures: %d", leaderPod, pids, len(rec.Tenures))
}
