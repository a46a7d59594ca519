//go:build unix

package chaos

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/primus-dev/primus/internal/hacheck/failover"
	"github.com/primus-dev/primus/internal/hacheck/render"
	"github.com/primus-dev/primus/internal/hacheck/replica"
	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
	"github.com/primus-dev/primus/internal/testharness/clustertest"
)

// TestAPIServerUnreachable freezes the kube-apiserver for the renew
// deadline plus 2 s. The leader cannot renew the Lease, so it must step
// down (log "leadership lost" and exit) rather than lead blind; once the
// API server answers again, exactly one replica leads, after replicas that
// exited are restarted as the kubelet would, and it reconciles.
func TestAPIServerUnreachable(t *testing.T) {
	requireCluster(t)
	if testCluster.StopCommand() == "" {
		t.Skip("freezes the embedded cluster's API server; not done to a cluster from $PRIMUS_TEST_KUBECONFIG")
	}
	ctx := t.Context()
	inst, err := replica.Install(ctx, testCluster.RESTConfig(), replica.InstallOptions{
		Render: render.Options{Chart: chartPath(), ReleaseName: "primus", Namespace: "chaos-apiserver", Set: append([]string{"replicaCount=3"}, fastTimings...)},
	})
	require.NoError(t, err)
	t.Cleanup(func() { clustertest.CloseWithin(t, "uninstall", inst.Close) })
	le := inst.LeaderElection
	require.Equal(t, 3*time.Second, le.RenewDeadline)

	dir := t.TempDir()
	kubeconfig, err := inst.WriteKubeconfig(ctx, dir, time.Hour)
	require.NoError(t, err)
	token, err := inst.Token(ctx, "chaos-client", time.Hour)
	require.NoError(t, err)
	require.NoError(t, inst.GrantProjects(ctx, "chaos-client"))
	cfg, err := inst.ReplicaConfig(primusBin, kubeconfig, dir)
	require.NoError(t, err)
	set := replica.NewSet(cfg, "primus")
	t.Cleanup(func() {
		clustertest.CloseWithin(t, "stop replicas", set.Close)
		if t.Failed() {
			for _, r := range set.All() {
				t.Logf("--- log of %s (last 40 lines) ---\n%s", r.Name, r.Tail(40))
			}
		}
	})
	_, err = set.Grow(ctx, 3, 90*time.Second)
	require.NoError(t, err)
	before, err := replica.WaitSingleLeaderOf(ctx, set.Live(), token, inst.Lease(), 30*time.Second)
	require.NoError(t, err)
	start := time.Now()

	// Freeze the API server for the renew deadline + 2 s.
	frozenFor := le.RenewDeadline + 2*time.Second
	require.NoError(t, testCluster.PauseAPIServer())
	paused := time.Now()
	t.Cleanup(func() { _ = testCluster.ResumeAPIServer() })
	time.Sleep(frozenFor)
	require.NoError(t, testCluster.ResumeAPIServer())
	resumed := time.Now()
	t.Logf("API server frozen for %s", resumed.Sub(paused).Round(time.Millisecond))

	// The leader stepped down: it logs the loss and exits 1. client-go
	// first tries to release the Lease (for up to the renew deadline), so
	// the step-down may come only once the API server answers again.
	exitCtx, cancel := context.WithTimeout(ctx, le.LeaseDuration+2*le.RenewDeadline+15*time.Second)
	defer cancel()
	code, err := before.Wait(exitCtx)
	require.NoError(t, err, "%s kept leading without reaching the API server", before.Name)
	assert.Equal(t, 1, code, "a replica that lost the Lease exits 1")
	lost := clustertest.EventsOf(t, before, replica.Lost)
	require.Len(t, lost, 1, "%s logs the lost leadership once", before.Name)
	when := "while the API server was frozen"
	if lost[0].Time.After(resumed) {
		when = fmt.Sprintf("%s after the API server returned", lost[0].Time.Sub(resumed).Round(time.Millisecond))
	}
	t.Logf("%s stepped down %s after the freeze began, %s", before.Name, lost[0].Time.Sub(paused).Round(time.Millisecond), when)

	// A supervisor restarts what exited; then exactly one replica leads.
	for _, r := range set.All() {
		if r.Exited() {
			_, err := set.Grow(ctx, 1, 90*time.Second)
			require.NoError(t, err, "restart after %s exited", r.Name)
		}
	}
	after, err := replica.WaitSingleLeaderOf(ctx, set.Live(), token, inst.Lease(), 30*time.Second)
	require.NoError(t, err, "exactly one leader after the API server returned")
	t.Logf("%s leads %s after the API server returned", after.Name, time.Since(resumed).Round(time.Millisecond))

	// Its controllers run: a new Project is reconciled.
	p := &primusv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "chaos-apiserver-after"}, Spec: primusv1.ProjectSpec{
		Members: []primusv1.Member{{Kind: primusv1.MemberUser, Name: "dev@example.com", Role: primusv1.RoleEdit}},
		Quota:   map[string]intstr.IntOrString{"pods": intstr.FromInt32(5)},
	}}
	require.NoError(t, after.CreateProject(ctx, token, p))
	t.Cleanup(func() {
		clustertest.CloseWithin(t, "delete project", func(ctx context.Context) error { return inst.DeleteProjects(ctx, []string{p.Name}) })
	})
	_, _, err = inst.WaitProjectReady(ctx, p.Name, 100*time.Millisecond, time.Minute)
	require.NoError(t, err)

	// Never two leaders at once: from the API server's audit log, else
	// from the replicas' own logs.
	names := map[string]bool{}
	for _, r := range set.All() {
		names[r.Name] = true
	}
	checkNoSplitBrain(t, le.LeaseNamespace, le.LeaseName, names, start, func() {
		var timelines []failover.Timeline
		for _, r := range set.All() {
			events, err := r.Events()
			require.NoError(t, err)
			tl := failover.Timeline{Identity: r.Name, Events: events}
			if r.Exited() {
				tl.Ended = r.ExitedAt()
			}
			timelines = append(timelines, tl)
		}
		assert.Empty(t, failover.Overlaps(timelines, failover.Interval{Start: start, End: time.Now()}))
	})
}
