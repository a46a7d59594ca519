package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/internal/hacheck/action"
	"github.com/primus-dev/primus/internal/hacheck/failover"
	"github.com/primus-dev/primus/internal/hacheck/replica"
	"github.com/primus-dev/primus/internal/hacheck/verify"
	"github.com/primus-dev/primus/internal/testharness/chartcopy"
)

// brokenBinary writes a wrapper of the built primus binary that runs it
// with extra flags appended (the last value of a flag wins): a binary
// whose leader election is broken as those flags break it.
func brokenBinary(t *testing.T, primus string, flags ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "primus-broken")
	script := fmt.Sprintf("#!/bin/sh\nexec %q \"$@\" %s\n", primus, strings.Join(flags, " "))
	require.NoError(t, os.WriteFile(path, []byte(script), 0o755))
	return path
}

// TestVerifyFailsWhenLeadershipIsBroken runs the README's main job on the
// embedded cluster with a primus binary whose leader election is broken:
// verify must exit 1 and name the leadership checks that fail.
func TestVerifyFailsWhenLeadershipIsBroken(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded cluster; skipped with -short")
	}
	primus, err := replica.Build(t.Context(), t.TempDir(), nil)
	require.NoError(t, err)
	cases := []struct {
		name  string
		flags []string
		want  []string
		// failover adds --failover: no round runs on a release whose live
		// checks fail, and the report says why.
		failover bool
	}{
		{
			name:     "leader election off: every replica leads, the Lease has no holder",
			flags:    []string{"--leader-elect=false"},
			want:     []string{verify.CheckLeader, verify.CheckLeaseRenewed, verify.CheckLeadingMetric},
			failover: true,
		},
		{
			// The chart's Role grants update on its own Lease only: the
			// replicas create this one, then may not renew it.
			name:  "a Lease the RBAC does not grant: nobody holds the chart's Lease",
			flags: []string{"--leader-election-id=someone-elses-lease"},
			want:  []string{verify.CheckLeader, verify.CheckLeaseRenewed},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"verify", chart, "--set", "replicaCount=3", "--timeout", "60s",
				"--binary", brokenBinary(t, primus, tc.flags...), "-o", "json"}
			if tc.failover {
				args = append(args, "--failover")
			}
			code, stdout, stderr := hacheck(args...)
			require.Equal(t, 1, code, "verify must fail; stderr:\n%s\nstdout:\n%s", stderr, stdout)
			var res action.VerifyResult
			require.NoError(t, json.Unmarshal([]byte(stdout), &res), stdout)
			failed := map[string]string{}
			for _, c := range res.Report.Failed() {
				failed[c.ID] = c.Message
			}
			for _, id := range tc.want {
				assert.Contains(t, failed, id, "failed checks: %v", failed)
			}
			assert.Nil(t, res.Report.Leader, "no leader to name")
			if tc.failover {
				assert.Nil(t, res.Failover, "no failover round on a release whose live checks fail")
				assert.Contains(t, res.FailoverSkipped, "live checks failed")
				for _, id := range action.FailoverChecks {
					assert.NotContains(t, failed, id)
				}
			}
		})
	}
}

// TestVerifyNamesTheLeader runs the main job with the real binary: exit 0,
// and the report names the leader in text and in JSON.
func TestVerifyNamesTheLeader(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded cluster; skipped with -short")
	}
	// $KUBECONFIG alone never names the cluster to install on: this one
	// does not even exist, and verify runs on the embedded cluster.
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	code, stdout, stderr := hacheck("verify", chart, "--set", "replicaCount=3")
	require.Equal(t, 0, code, "stderr:\n%s\nstdout:\n%s", stderr, stdout)
	assert.True(t, strings.HasPrefix(stderr, "[") && strings.Contains(strings.SplitN(stderr, "\n", 2)[0], "embedded cluster"), "the first line says which cluster: %q", stderr)
	assert.Regexp(t, `(?m)^leader +ok +primus-[a-z0-9]+-[a-z0-9]+ \(renewed [0-9.]+m?s ago, [0-9]+ transitions\)`, stdout)
}

// TestVerifyWithTheAPIOff: with api.enabled=false the replicas serve no
// API and run the controllers only; verify starts them, reports no
// replicas-api check (nothing to ask) and every other live check holds.
func TestVerifyWithTheAPIOff(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded cluster; skipped with -short")
	}
	code, stdout, stderr := hacheck("verify", chart, "--set", "replicaCount=2", "--set", "api.enabled=false", "--output", "json")
	require.Equal(t, 0, code, "stderr:\n%s\nstdout:\n%s", stderr, stdout)
	var res action.VerifyResult
	require.NoError(t, json.Unmarshal([]byte(stdout), &res), stdout)
	var ids []string
	for _, c := range res.Report.Checks {
		ids = append(ids, c.ID)
		assert.True(t, c.Passed, "%s: %s", c.ID, c.Message)
	}
	assert.NotContains(t, ids, verify.CheckReplicasAPI)
	assert.Contains(t, ids, verify.CheckLeadingMetric, "the replicas are still asked whether they lead")
}

// TestVerifyFailover runs the README's main job with --failover on the
// embedded cluster: exit 0, and the JSON report has a crash round and a
// graceful round, each with a new leader within its bound and the Project
// created after the signal reconciled, and the split-brain oracle (the
// audit log) found nothing.
func TestVerifyFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded cluster; skipped with -short")
	}
	code, stdout, stderr := hacheck("verify", chart, "--set", "replicaCount=3", "--failover", "-o", "json")
	require.Equal(t, 0, code, "stderr:\n%s\nstdout:\n%s", stderr, stdout)
	var res action.VerifyResult
	require.NoError(t, json.Unmarshal([]byte(stdout), &res), stdout)
	require.NotNil(t, res.Failover, "the failover rounds' report")
	assert.Empty(t, res.FailoverSkipped)

	checks := map[string]verify.Check{}
	for _, c := range res.Report.Checks {
		checks[c.ID] = c
	}
	for _, id := range action.FailoverChecks {
		if assert.Contains(t, checks, id) {
			assert.True(t, checks[id].Passed, "%s: %s", id, checks[id].Message)
		}
	}
	tests := []struct {
		mode  failover.Mode
		bound time.Duration
	}{
		// The chart's default lease: 15s, retry period 2s.
		{mode: failover.Crash, bound: 15*time.Second + 2*2*time.Second},
		{mode: failover.Graceful, bound: 2 * time.Second},
	}
	require.Len(t, res.Failover.Rounds, len(tests))
	for i, tc := range tests {
		t.Run(string(tc.mode), func(t *testing.T) {
			r := res.Failover.Rounds[i]
			assert.Equal(t, tc.mode, r.Mode)
			assert.Equal(t, tc.bound, r.Bound.D(), "the bound the round must meet")
			assert.NotEmpty(t, r.NewHolder, "a new leader")
			assert.NotEqual(t, r.OldIdentity, r.NewIdentity, "another process leads")
			assert.Positive(t, r.TimeToLeader.D())
			assert.LessOrEqual(t, r.TimeToLeader.D(), r.Bound.D(), "time to a new leader within the bound")
			assert.GreaterOrEqual(t, r.TimeToReconcile.D(), r.TimeToLeader.D(), "the Project created after the signal is reconciled by the new leader")
			assert.Equal(t, tc.bound+failover.ReconcileAllowance, r.ReconcileBound.D(), "the reconcile bound the round must meet")
			assert.LessOrEqual(t, r.TimeToReconcile.D(), r.ReconcileBound.D(), "reconciled within the bound")
			assert.Equal(t, failover.OracleAudit, r.Oracle, "split brain judged from the audit log")
			assert.Empty(t, r.SplitBrainWrites)
			assert.Empty(t, r.Violations)
		})
	}
	assert.True(t, res.Failover.Passed)
}

func TestVerifyModesAreCheckedBeforeAnythingRuns(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"https://127.0.0.1:1\"}\n"), 0o600))
	cases := []struct {
		name string
		args []string
		want string
	}{
		{name: "neither a chart nor a release", args: []string{"verify"}, want: "or --release NAME"},
		{name: "doctor takes no values", args: []string{"verify", "--release", "primus", "--set", "replicaCount=3"}, want: "--set: doctor mode"},
		{name: "doctor starts no cluster", args: []string{"verify", "--release", "primus", "--keep"}, want: "--keep: doctor mode"},
		{name: "doctor kills no pod", args: []string{"verify", "--release", "primus", "--failover"},
			want: "hacheck: error: --failover: doctor mode (--release without CHART) is read-only and --failover kills the leader's Pod"},
		{name: "failover only on the embedded cluster", args: []string{"verify", chart, "--kubeconfig", kubeconfig, "--failover"},
			want: "hacheck: error: --failover kills the leader's process, which hacheck runs only on the embedded cluster"},
		{name: "serve only on the embedded cluster", args: []string{"verify", chart, "--kubeconfig", kubeconfig, "--serve"},
			want: "hacheck: error: --serve keeps the embedded cluster and the replicas hacheck runs"},
		{name: "serve keeps nothing after it", args: []string{"verify", chart, "--serve", "--keep"}, want: "--serve: it keeps the cluster only while it runs"},
		{name: "doctor serves nothing", args: []string{"verify", "--release", "primus", "--serve"}, want: "--serve: doctor mode"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := hacheck(tc.args...)
			assert.Contains(t, stderr, tc.want)
			assert.Equal(t, 2, code)
			assert.Empty(t, stdout)
			assert.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "one line: %q", stderr)
		})
	}
}

// TestVerifyAChartThatLeavesNamespacesToHelm: many charts render their
// objects without metadata.namespace and let helm install -n put them in
// the release namespace. A copy of the chart with those lines removed,
// verified with -n ops, is read where Helm created it: the Deployment,
// Pods, PDB and Lease in ops, every live check holding.
func TestVerifyAChartThatLeavesNamespacesToHelm(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded cluster; skipped with -short")
	}
	dir := chartcopy.WithoutNamespaces(t, chart, 5)

	code, stdout, stderr := hacheck("verify", dir, "-n", "ops", "--set", "replicaCount=2", "--output", "json")
	require.Equal(t, 0, code, "stderr:\n%s\nstdout:\n%s", stderr, stdout)
	var res action.VerifyResult
	require.NoError(t, json.Unmarshal([]byte(stdout), &res), stdout)
	assert.Equal(t, "ops/primus", res.Report.Deployment)
	require.NotEmpty(t, res.Report.Checks)
	for _, c := range res.Report.Checks {
		assert.True(t, c.Passed, "%s: %s", c.ID, c.Message)
	}
}
