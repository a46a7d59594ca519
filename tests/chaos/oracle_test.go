//go:build unix

package chaos

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/internal/hacheck/audit"
	"github.com/primus-dev/primus/internal/platform/leader"
)

// checkNoSplitBrain judges, from the API server's audit log, every
// controller write completed since start by a process of the Pods (or
// replicas) named in pods: each must fall in its own process's leadership
// of the Lease ns/name, and no two processes' writes may be in flight at
// once. It returns the record (nil without an audit log). On a cluster
// whose audit log the suite cannot read ($PRIMUS_TEST_KUBECONFIG) it runs
// fromLogs instead, the processes' own account.
func checkNoSplitBrain(t *testing.T, ns, name string, pods map[string]bool, start time.Time, fromLogs func()) *audit.Record {
	t.Helper()
	path := testCluster.AuditLog()
	if path == "" {
		t.Logf("no audit log on this cluster: split brain judged from the processes' own logs")
		fromLogs()
		return nil
	}
	reqs, err := audit.ReadFile(path)
	require.NoError(t, err)
	rec := audit.Analyse(reqs, audit.Options{
		LeaseNamespace: ns, LeaseName: name, From: start, To: time.Now(),
		Scope: func(p audit.Process) bool { return pods[leader.HolderPod(p.Identity)] },
	})
	for _, v := range rec.Violations {
		assert.Failf(t, "split brain in the audit log", "%s", v.Message)
	}
	require.NotEmpty(t, rec.Tenures, "the audit log records the Lease's holders")
	t.Logf("audit log: %d tenures of %s, %d controller writes by %d processes, %d split-brain writes",
		len(rec.Tenures), rec.Lease, len(rec.Writes), len(rec.Processes), len(rec.Violations))
	return rec
}
