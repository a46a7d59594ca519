package failover

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/internal/hacheck/replica"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sampleReport is a report of three rounds, one per mode, the pause
// round with the stale leader the real binary shows.
func sampleReport() *Report {
	d := func(s float64) Seconds { return Seconds(time.Duration(s * float64(time.Second))) }
	rounds := []Round{
		{Number: 1, Mode: Crash, OldHolder: "primus-0", NewHolder: "primus-2", LeaseTransitions: 1,
			TimeToLeader: d(4.043), TimeToReconcile: d(4.35), Project: "failover-abcde-1-crash",
			API: replica.ProbeResult{Calls: 64}, Replacements: []string{"primus-3"}},
		{Number: 2, Mode: Graceful, OldHolder: "primus-2", NewHolder: "primus-3", LeaseTransitions: 2,
			TimeToLeader: d(2.402), TimeToReconcile: d(2.6), Project: "failover-abcde-2-graceful",
			API: replica.ProbeResult{Calls: 19, Failures: []replica.ProbeFailure{
				{Time: at(61.5), Replica: "primus-1", Error: "Get \"https://127.0.0.1:40123/apis/management.primus.dev/v1alpha1/projects\":\n context deadline exceeded"},
			}}, Replacements: []string{"primus-4"}},
		{Number: 3, Mode: Pause, OldHolder: "primus-3", NewHolder: "primus-1", LeaseTransitions: 3,
			TimeToLeader: d(4.935), TimeToReconcile: d(5.105), Project: "failover-abcde-3-pause",
			API:           replica.ProbeResult{Calls: 108},
			Overlaps:      []Overlap{{Identities: [2]string{"primus-1", "primus-3"}, Start: at(88.393), Duration: d(3.003), Resumed: "primus-3"}},
			StaleActivity: []Activity{{Identity: "primus-3", Time: at(88.41), Msg: "rolebinding created", Holder: "primus-1"}},
			Resumed: &Resumed{Identity: "primus-3", PausedFor: d(5.106), Exited: true, ExitCode: 1, ExitedAfter: d(3.006), LostAfter: d(3.003),
				Activity: []Activity{{Identity: "primus-3", Time: at(88.41), Msg: "rolebinding created"}}},
			Replacements: []string{"primus-5"}},
	}
	for i := range rounds {
		rounds[i].Bound = Seconds(Bound(rounds[i].Mode, fastTimings))
		rounds[i].Violations = Judge(rounds[i], fastTimings)
	}
	audits := []ProjectAudit{
		{Name: "failover-abcde-1-crash", Round: 1, Exists: true, Ready: true, NamespaceUID: "uid-1", QuotaCreates: 1, RoleBindingCreates: 2,
			RoleBindings: []string{"primus-admin-x", "primus-edit-y"}, RoleBindingsMatch: true},
		{Name: "failover-abcde-2-graceful", Round: 2, Exists: true, Ready: true, NamespaceUID: "uid-2", QuotaCreates: 1, RoleBindingCreates: 2,
			RoleBindings: []string{"primus-admin-x", "primus-edit-y"}, RoleBindingsMatch: true},
		{Name: "failover-abcde-3-pause", Round: 3, Exists: true, Ready: true, NamespaceUID: "uid-3", QuotaCreates: 1, RoleBindingCreates: 3,
			RoleBindings: []string{"primus-admin-x", "primus-edit-y", "primus-view-z"}, RoleBindingsMatch: true},
	}
	return &Report{
		Chart: "charts/primus", Release: "primus", Namespace: "primus-failover", Cluster: "embedded (3 nodes, 3 zones)",
		Lease: "primus-failover/primus-leader", Timings: fastTimings, Replicas: Replicas,
		Rounds: rounds, Summary: summarize(rounds, AllModes, fastTimings), Projects: audits, Passed: passed(rounds, audits),
	}
}

func TestReportGolden(t *testing.T) {
	tests := []struct {
		file  string
		write func(*bytes.Buffer, *Report) error
	}{
		{"report.txt", func(b *bytes.Buffer, r *Report) error { return WriteText(b, r) }},
		{"report.json", func(b *bytes.Buffer, r *Report) error { return WriteJSON(b, r) }},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, tc.write(&buf, sampleReport()))
			path := filepath.Join("testdata", tc.file)
			if *update {
				require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./internal/failover -update to create it")
			assert.Equal(t, string(want), buf.String())
		})
	}
}

func TestReportJSONRoundTrips(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, WriteJSON(&buf, sampleReport()))
	var got Report
	require.NoError(t, json.Unmarshal(buf.Bytes(), &got))
	assert.False(t, got.Passed)
	require.Len(t, got.Rounds, 3)
	assert.Equal(t, 4043*time.Millisecond, got.Rounds[0].TimeToLeader.D())
	assert.Equal(t, "primus-1", got.Rounds[2].NewHolder)
	assert.Equal(t, []string{`primus-3 logged "rolebinding created" at 12:01:28.410 while primus-1 held the Lease`}, got.Rounds[2].Violations,
		"waking up as a stale leader is no violation, acting as one is")
}

func TestSummary(t *testing.T) {
	s := sampleReport().Summary
	require.Len(t, s, 3)
	assert.Equal(t, ModeSummary{
		Mode: Graceful, Rounds: 1, Failed: 1, APICalls: 19, APIErrors: 1, Bound: Seconds(2 * time.Second), ReconcileBound: Seconds(7 * time.Second),
		TimeToLeader:    Stats{N: 1, Min: Seconds(2402 * time.Millisecond), Median: Seconds(2402 * time.Millisecond), P95: Seconds(2402 * time.Millisecond), Max: Seconds(2402 * time.Millisecond)},
		TimeToReconcile: Stats{N: 1, Min: Seconds(2600 * time.Millisecond), Median: Seconds(2600 * time.Millisecond), P95: Seconds(2600 * time.Millisecond), Max: Seconds(2600 * time.Millisecond)},
	}, s[1])
	assert.Equal(t, 1, s[2].SplitBrainRounds)
	assert.Zero(t, s[0].Failed)
}
