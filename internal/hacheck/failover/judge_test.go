package failover

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

var fastTimings = Timings{
	LeaseDuration: Seconds(4 * time.Second), RenewDeadline: Seconds(3 * time.Second), RetryPeriod: Seconds(time.Second),
}

func TestBound(t *testing.T) {
	assert.Equal(t, 6*time.Second, Bound(Crash, fastTimings), "leaseDuration + 2 x retryPeriod")
	assert.Equal(t, 19*time.Second, Bound(Crash, Timings{LeaseDuration: Seconds(15 * time.Second), RetryPeriod: Seconds(2 * time.Second)}))
	assert.Equal(t, 2*time.Second, Bound(Graceful, fastTimings))
	assert.Equal(t, 2*time.Second, Bound(Graceful, Timings{ShutdownDelay: Seconds(5 * time.Second)}), "the Lease is released at SIGTERM, before the API's shutdown delay")
	assert.Zero(t, Bound(Pause, fastTimings), "a pause is judged by the resumed process, not by a time")
	assert.Equal(t, 11*time.Second, ReconcileBound(Crash, fastTimings), "the crash bound + the allowance")
	assert.Equal(t, 7*time.Second, ReconcileBound(Graceful, fastTimings))
	assert.Zero(t, ReconcileBound(Pause, fastTimings))
}

func TestJudge(t *testing.T) {
	good := func(mode Mode, toLeader float64) Round {
		r := Round{Mode: mode, OldHolder: "primus-0", NewHolder: "primus-1", Project: "p",
			TimeToLeader: Seconds(time.Duration(toLeader * float64(time.Second))), TimeToReconcile: Seconds(7 * time.Second)}
		if mode == Pause {
			r.Resumed = &Resumed{Identity: "primus-0", Exited: true, ExitCode: 1}
		}
		return r
	}
	with := func(r Round, change func(*Round)) Round { change(&r); return r }
	tests := []struct {
		name  string
		round Round
		want  []string
	}{
		{name: "crash within the bound", round: good(Crash, 5.9)},
		{name: "crash over the bound", round: good(Crash, 6.2),
			want: []string{"time to leader 6.200s exceeds the bound 6.000s (leaseDuration + 2 x retryPeriod)"}},
		{name: "graceful within 2s", round: good(Graceful, 1.2)},
		{name: "graceful over 2s", round: good(Graceful, 2.4),
			want: []string{"time to leader 2.400s exceeds the bound 2.000s (a released Lease is taken at once)"}},
		{name: "pause: a slow takeover is no violation", round: good(Pause, 30)},
		{name: "crash: a new holder that does not run its controllers",
			round: with(good(Crash, 5), func(r *Round) { r.TimeToReconcile = Seconds(20 * time.Second) }),
			want:  []string{"time to reconcile 20.000s exceeds the bound 11.000s (the time-to-leader bound + 5s for the new leader to start its controllers and reconcile)"}},
		{name: "graceful: reconciled late",
			round: with(good(Graceful, 0.1), func(r *Round) { r.TimeToReconcile = Seconds(7100 * time.Millisecond) }),
			want:  []string{"time to reconcile 7.100s exceeds the bound 7.000s (the time-to-leader bound + 5s for the new leader to start its controllers and reconcile)"}},
		{name: "pause: a late reconcile is no violation",
			round: with(good(Pause, 30), func(r *Round) { r.TimeToReconcile = Seconds(60 * time.Second) })},
		{name: "pause: the resumed leader did not exit",
			round: with(good(Pause, 5), func(r *Round) { r.Resumed.Exited = false }),
			want:  []string{"the resumed primus-0 did not exit"}},
		{name: "pause: never resumed",
			round: with(good(Pause, 5), func(r *Round) { r.Resumed = nil }),
			want:  []string{"the paused leader was never resumed"}},
		{name: "nobody took over",
			round: with(good(Crash, 0), func(r *Round) { r.NewHolder, r.TimeToReconcile = "", 0 }),
			want:  []string{"no replica took the Lease", "project p was never reconciled"}},
		{name: "two leaders at once",
			round: with(good(Crash, 5), func(r *Round) {
				r.Overlaps = []Overlap{{Identities: [2]string{"primus-0", "primus-1"}, Start: at(3), Duration: Seconds(3 * time.Second)}}
			}),
			want: []string{"split brain: primus-0 and primus-1 both led for 3.000s from 12:00:03.000"}},
		{name: "a paused leader waking up stale, doing nothing",
			round: with(good(Pause, 5), func(r *Round) {
				r.Overlaps = []Overlap{{Identities: [2]string{"primus-0", "primus-1"}, Start: at(3), Duration: Seconds(3 * time.Second), Resumed: "primus-0"}}
			})},
		{name: "work by a replica that did not hold the Lease",
			round: with(good(Pause, 5), func(r *Round) {
				r.StaleActivity = []Activity{{Identity: "primus-0", Time: at(4), Msg: "rolebinding created", Holder: "primus-1"}}
			}),
			want: []string{`primus-0 logged "rolebinding created" at 12:00:04.000 while primus-1 held the Lease`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Judge(tc.round, fastTimings))
		})
	}
}

func TestParseModes(t *testing.T) {
	modes, err := ParseModes("all")
	assert.NoError(t, err)
	assert.Equal(t, []Mode{Crash, Graceful, Pause}, modes)
	modes, err = ParseModes("Pause")
	assert.NoError(t, err)
	assert.Equal(t, []Mode{Pause}, modes)
	_, err = ParseModes("reboot")
	assert.EqualError(t, err, `--mode "reboot": want crash, graceful, pause or all`)
}
