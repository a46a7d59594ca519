//go:build unix

package chaos

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/internal/hacheck/failover"
	"github.com/primus-dev/primus/internal/hacheck/render"
)

// TestSplitBrain takes the leader of three replicas down again and again,
// by kill -9, SIGTERM and SIGSTOP/SIGCONT, with the chart's fastest lease
// timings, and checks what must hold whatever the timing: no controller
// write by a replica outside its own leadership and no two replicas'
// controller writes in flight at once (from the API server's audit log),
// each round's new leader within its mode's bound, no Project lost, none applied
// twice (its namespace created once, one quota and one RoleBinding per
// member created, its RoleBindings exactly its members'), a paused leader
// exits once resumed, and the API answers on every replica that runs.
func TestSplitBrain(t *testing.T) {
	requireCluster(t)
	n := rounds(t)
	rep, err := failover.Run(t.Context(), failover.Options{
		Render: render.Options{
			Chart: chartPath(), ReleaseName: "primus", Namespace: "chaos-split-brain",
			Set: fastTimings,
		},
		Cluster: testCluster,
		Binary:  primusBin,
		Rounds:  n,
		// No WorkDir: the replicas' logs are kept when a round fails, and
		// the report names their directory.
	})
	require.NoError(t, err)
	var text bytes.Buffer
	require.NoError(t, failover.WriteText(&text, rep))
	t.Logf("failover report:\n%s", text.String())

	require.Len(t, rep.Rounds, n*len(failover.AllModes), "every round ran")
	for _, r := range rep.Rounds {
		assert.NotEmpty(t, r.NewHolder, "round %d (%s): nobody took over from %s", r.Number, r.Mode, r.OldHolder)
		if testCluster.AuditLog() != "" {
			assert.Equal(t, failover.OracleAudit, r.Oracle, "round %d: judged from the API server's audit log", r.Number)
		}
		assert.False(t, r.SplitBrain(), "round %d (%s): split brain: %v %v %v", r.Number, r.Mode, r.SplitBrainWrites, r.Overlaps, r.StaleActivity)
		for _, o := range r.Overlaps {
			// The processes' logs explain: a paused leader wakes up
			// believing it leads until it finds out; what matters is that
			// the API server took no write from it meanwhile.
			t.Logf("round %d (%s): by their logs, %s and %s both believed they led for %s (resumed: %q)",
				r.Number, r.Mode, o.Identities[0], o.Identities[1], o.Duration, o.Resumed)
		}
		assert.Empty(t, r.API.Failures, "round %d (%s): the API failed on a running replica", r.Number, r.Mode)
		assert.Positive(t, r.TimeToReconcile, "round %d (%s): project %s never reconciled", r.Number, r.Mode, r.Project)
		if r.Mode == failover.Pause && assert.NotNil(t, r.Resumed, "round %d", r.Number) {
			assert.True(t, r.Resumed.Exited, "round %d: the resumed %s must exit", r.Number, r.Resumed.Identity)
			assert.Equal(t, 1, r.Resumed.ExitCode, "round %d: a replica that lost the Lease exits 1", r.Number)
		}
		if r.Bound > 0 {
			assert.LessOrEqual(t, r.TimeToLeader, r.Bound, "round %d (%s): time to a new leader over the mode's bound", r.Number, r.Mode)
		}
	}
	require.Len(t, rep.Projects, len(rep.Rounds))
	for _, p := range rep.Projects {
		assert.True(t, p.Exists && p.Ready, "project %s lost or not Ready", p.Name)
		assert.False(t, p.NamespaceRecreated, "project %s: namespace created twice", p.Name)
		assert.Equal(t, 1, p.QuotaCreates, "project %s: quota creates in the logs", p.Name)
		assert.Equal(t, len(p.RoleBindings), p.RoleBindingCreates, "project %s: RoleBinding creates in the logs", p.Name)
		assert.True(t, p.RoleBindingsMatch, "project %s: RoleBindings %v are not its members'", p.Name, p.RoleBindings)
		assert.Empty(t, p.Problems, "project %s", p.Name)
	}
}
