package action

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/internal/hacheck/audit"
	"github.com/primus-dev/primus/internal/hacheck/failover"
)

// defaultTimings are the chart's default lease timings: crash bound 19s.
var defaultTimings = failover.Timings{
	LeaseDuration: failover.Seconds(15 * time.Second), RenewDeadline: failover.Seconds(10 * time.Second),
	RetryPeriod: failover.Seconds(2 * time.Second),
}

func seconds(s float64) failover.Seconds {
	return failover.Seconds(time.Duration(s * float64(time.Second)))
}

// measuredRound is a round as measured, judged by failover.Judge as the
// rounds are.
func measuredRound(n int, mode failover.Mode, toLeader float64, change func(*failover.Round)) failover.Round {
	r := failover.Round{Number: n, Mode: mode, OldHolder: "primus-a", NewHolder: "primus-b",
		OldIdentity: "primus-a_1", NewIdentity: "primus-b_2", Project: "p-" + string(mode),
		TimeToLeader: seconds(toLeader), TimeToReconcile: seconds(toLeader + 0.5),
		Oracle: failover.OracleAudit, ControllerWrites: 5,
		Bound: failover.Seconds(failover.Bound(mode, defaultTimings))}
	if change != nil {
		change(&r)
	}
	r.Violations = append(failover.Judge(r, defaultTimings), r.Violations...)
	return r
}

func TestFailoverVerdicts(t *testing.T) {
	tests := []struct {
		name     string
		rounds   []failover.Round
		audits   []failover.ProjectAudit
		failed   map[string]string // check id: a part of its message
		messages map[string]string // check id: a part of the message of a passed check
	}{
		{
			name:   "both rounds within their bounds",
			rounds: []failover.Round{measuredRound(1, failover.Crash, 14.2, nil), measuredRound(2, failover.Graceful, 0.3, nil)},
			messages: map[string]string{
				CheckFailoverCrash:      "primus-b leads after 14.200s (bound 19.000s: leaseDuration + 2 x retryPeriod); project p-crash reconciled after 14.700s",
				CheckFailoverGraceful:   "primus-b leads after 0.300s (bound 2.000s: a released Lease is taken at once)",
				CheckFailoverSplitBrain: "audit log: 10 controller writes in 2 rounds, 0 outside",
			},
		},
		{
			name:   "crash: a new leader after the bound",
			rounds: []failover.Round{measuredRound(1, failover.Crash, 19.4, nil), measuredRound(2, failover.Graceful, 0.3, nil)},
			failed: map[string]string{CheckFailoverCrash: "time to leader 19.400s exceeds the bound 19.000s (leaseDuration + 2 x retryPeriod)"},
		},
		{
			name:   "graceful: a new leader after the bound",
			rounds: []failover.Round{measuredRound(1, failover.Crash, 14.2, nil), measuredRound(2, failover.Graceful, 2.5, nil)},
			failed: map[string]string{CheckFailoverGraceful: "time to leader 2.500s exceeds the bound 2.000s"},
		},
		{
			name: "crash: nobody took over, the graceful round never ran",
			rounds: []failover.Round{measuredRound(1, failover.Crash, 0, func(r *failover.Round) {
				r.NewHolder, r.NewIdentity, r.TimeToReconcile = "", "", 0
				r.Violations = []string{"the replicas did not get back to one leader"}
			})},
			failed: map[string]string{
				CheckFailoverCrash:    "nobody leads after 0.000s",
				CheckFailoverGraceful: "not run",
			},
		},
		{
			name: "a container restarted in place takes over",
			rounds: []failover.Round{measuredRound(1, failover.Crash, 14.2, func(r *failover.Round) { r.NewHolder = r.OldHolder }),
				measuredRound(2, failover.Graceful, 0.3, nil)},
			messages: map[string]string{CheckFailoverCrash: "primus-a (restarted in place) leads after 14.200s"},
		},
		{
			name: "split brain in the audit log fails its round and the oracle's check",
			rounds: []failover.Round{measuredRound(1, failover.Crash, 14.2, nil), measuredRound(2, failover.Graceful, 0.3, func(r *failover.Round) {
				r.SplitBrainWrites = []audit.Violation{{Message: "primus-a_1 created rolebindings outside its tenure"}}
			})},
			failed: map[string]string{
				CheckFailoverGraceful:   "split brain (audit log): primus-a_1 created rolebindings outside its tenure",
				CheckFailoverSplitBrain: "1 outside their writer's leadership or concurrent; round 2: primus-a_1 created rolebindings",
			},
		},
		{
			name:   "the audit of a round's Project fails its round",
			rounds: []failover.Round{measuredRound(1, failover.Crash, 14.2, nil), measuredRound(2, failover.Graceful, 0.3, nil)},
			audits: []failover.ProjectAudit{{Name: "p-crash", Round: 1, Problems: []string{"applied twice"}}},
			failed: map[string]string{CheckFailoverCrash: "applied twice"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checks := FailoverVerdicts(&failover.Report{Timings: defaultTimings, Rounds: tc.rounds, Projects: tc.audits})
			var ids []string
			for _, c := range checks {
				ids = append(ids, c.ID)
				if want, ok := tc.failed[c.ID]; ok {
					assert.False(t, c.Passed, "%s must fail: %s", c.ID, c.Message)
					assert.Contains(t, c.Message, want)
					continue
				}
				assert.True(t, c.Passed, "%s must pass: %s", c.ID, c.Message)
				if want, ok := tc.messages[c.ID]; ok {
					assert.Contains(t, c.Message, want)
				}
			}
			require.Equal(t, FailoverChecks, ids, "one check per id, in order")
		})
	}
}
