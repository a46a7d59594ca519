package failover

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/primus-dev/primus/internal/hacheck/replica"
	"github.com/primus-dev/primus/internal/platform/leader"
)

// t0 is the origin of the synthetic timelines; at(s) is s seconds later.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func ev(id string, kind replica.EventKind, s float64) replica.Event {
	return replica.Event{Time: at(s), Identity: id, Kind: kind}
}

func TestOverlaps(t *testing.T) {
	window := Interval{Start: at(0), End: at(100)}
	tests := []struct {
		name      string
		timelines []Timeline
		want      []Overlap
	}{
		{
			name: "crash: the killed leader's leadership ends at the kill",
			timelines: []Timeline{
				{Identity: "a", Events: []replica.Event{ev("a", replica.Acquired, 1)}, Ended: at(10)},
				{Identity: "b", Events: []replica.Event{ev("b", replica.Acquired, 15)}},
			},
		},
		{
			name: "crash: a candidate that took the Lease before the kill overlaps",
			timelines: []Timeline{
				{Identity: "a", Events: []replica.Event{ev("a", replica.Acquired, 1)}, Ended: at(10)},
				{Identity: "b", Events: []replica.Event{ev("b", replica.Acquired, 8)}},
			},
			want: []Overlap{{Identities: [2]string{"a", "b"}, Start: at(8), Duration: Seconds(2 * time.Second)}},
		},
		{
			name: "graceful: released before the next acquisition",
			timelines: []Timeline{
				{Identity: "a", Events: []replica.Event{ev("a", replica.Acquired, 1), ev("a", replica.Released, 10)}},
				{Identity: "b", Events: []replica.Event{ev("b", replica.Acquired, 10.5)}},
			},
		},
		{
			name: "released after the other acquired",
			timelines: []Timeline{
				{Identity: "b", Events: []replica.Event{ev("b", replica.Acquired, 9.5)}},
				{Identity: "a", Events: []replica.Event{ev("a", replica.Acquired, 1), ev("a", replica.Released, 10)}},
			},
			want: []Overlap{{Identities: [2]string{"a", "b"}, Start: at(9.5), Duration: Seconds(500 * time.Millisecond)}},
		},
		{
			name: "pause: the frozen span does not count, the stale time after SIGCONT does",
			timelines: []Timeline{
				{Identity: "a", Events: []replica.Event{ev("a", replica.Acquired, 1), ev("a", replica.Lost, 23)},
					Frozen: []Interval{{Start: at(10), End: at(20)}}},
				{Identity: "b", Events: []replica.Event{ev("b", replica.Acquired, 15)}},
			},
			want: []Overlap{{Identities: [2]string{"a", "b"}, Start: at(20), Duration: Seconds(3 * time.Second), Resumed: "a"}},
		},
		{
			name: "pause: a candidate that took the Lease before the freeze is a split brain",
			timelines: []Timeline{
				{Identity: "a", Events: []replica.Event{ev("a", replica.Acquired, 1), ev("a", replica.Lost, 23)},
					Frozen: []Interval{{Start: at(10), End: at(20)}}},
				{Identity: "b", Events: []replica.Event{ev("b", replica.Acquired, 8)}},
			},
			want: []Overlap{
				{Identities: [2]string{"a", "b"}, Start: at(8), Duration: Seconds(2 * time.Second)},
				{Identities: [2]string{"a", "b"}, Start: at(20), Duration: Seconds(3 * time.Second), Resumed: "a"},
			},
		},
		{
			name: "pause: lost right after SIGCONT, before anyone acquired",
			timelines: []Timeline{
				{Identity: "a", Events: []replica.Event{ev("a", replica.Acquired, 1), ev("a", replica.Lost, 20.01)},
					Frozen: []Interval{{Start: at(10), End: at(20)}}},
				{Identity: "b", Events: []replica.Event{ev("b", replica.Acquired, 21)}},
			},
		},
		{
			name: "a leader that still leads is cut at the window's end",
			timelines: []Timeline{
				{Identity: "a", Events: []replica.Event{ev("a", replica.Acquired, 90)}},
				{Identity: "b", Events: []replica.Event{ev("b", replica.Acquired, 95)}},
			},
			want: []Overlap{{Identities: [2]string{"a", "b"}, Start: at(95), Duration: Seconds(5 * time.Second)}},
		},
		{
			name: "overlaps outside the window are not this round's",
			timelines: []Timeline{
				{Identity: "a", Events: []replica.Event{ev("a", replica.Acquired, -20), ev("a", replica.Lost, -5)}},
				{Identity: "b", Events: []replica.Event{ev("b", replica.Acquired, -10), ev("b", replica.Released, 2)}},
			},
		},
		{
			name: "three replicas, leadership passed twice, once badly",
			timelines: []Timeline{
				{Identity: "a", Events: []replica.Event{ev("a", replica.Acquired, 1), ev("a", replica.Released, 10)}},
				{Identity: "b", Events: []replica.Event{ev("b", replica.Acquired, 11), ev("b", replica.Lost, 30)}},
				{Identity: "c", Events: []replica.Event{ev("c", replica.Acquired, 29)}},
			},
			want: []Overlap{{Identities: [2]string{"b", "c"}, Start: at(29), Duration: Seconds(time.Second)}},
		},
		{
			name: "a replica that led twice",
			timelines: []Timeline{
				{Identity: "a", Events: []replica.Event{
					ev("a", replica.Acquired, 1), ev("a", replica.Released, 10),
					ev("a", replica.Acquired, 20), ev("a", replica.Released, 30),
				}},
				{Identity: "b", Events: []replica.Event{ev("b", replica.Acquired, 11), ev("b", replica.Released, 21)}},
			},
			want: []Overlap{{Identities: [2]string{"a", "b"}, Start: at(20), Duration: Seconds(time.Second)}},
		},
		{
			name: "events out of order and an end without a start",
			timelines: []Timeline{
				{Identity: "a", Events: []replica.Event{ev("a", replica.Released, 10), ev("a", replica.Acquired, 1), ev("a", replica.Lost, 0.5)}},
				{Identity: "b", Events: []replica.Event{ev("b", replica.Acquired, 10)}},
			},
		},
		{
			name: "an exit without a word ends the leadership too",
			timelines: []Timeline{
				{Identity: "a", Events: []replica.Event{ev("a", replica.Acquired, 1)}, Ended: at(40)},
				{Identity: "b", Events: []replica.Event{ev("b", replica.Acquired, 39)}},
			},
			want: []Overlap{{Identities: [2]string{"a", "b"}, Start: at(39), Duration: Seconds(time.Second)}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Overlaps(tc.timelines, window))
		})
	}
}

func TestLeadershipSubtractsEveryFrozenSpan(t *testing.T) {
	tl := Timeline{
		Identity: "a",
		Events:   []replica.Event{ev("a", replica.Acquired, 0), ev("a", replica.Lost, 30)},
		Frozen:   []Interval{{Start: at(5), End: at(10)}, {Start: at(20), End: at(25)}},
	}
	assert.Equal(t, []Interval{
		{Start: at(0), End: at(5)}, {Start: at(10), End: at(20)}, {Start: at(25), End: at(30)},
	}, tl.Leadership(at(100)))
}

func TestStaleActivity(t *testing.T) {
	timelines := []Timeline{
		{Identity: "a", Events: []replica.Event{ev("a", replica.Acquired, 1)}},
		{Identity: "b", Events: []replica.Event{ev("b", replica.Acquired, 20)}},
	}
	act := func(id string, s float64) Activity {
		return Activity{Identity: id, Time: at(s), Msg: "rolebinding created"}
	}
	tests := []struct {
		name     string
		activity []Activity
		want     []Activity
	}{
		{name: "the holder's work", activity: []Activity{act("a", 5), act("b", 21)}},
		{name: "work by the old leader after the new one took the Lease",
			activity: []Activity{act("a", 22)},
			want:     []Activity{{Identity: "a", Time: at(22), Msg: "rolebinding created", Holder: "b"}}},
		{name: "work before anyone acquired",
			activity: []Activity{act("b", 0.5)},
			want:     []Activity{{Identity: "b", Time: at(0.5), Msg: "rolebinding created"}}},
		{name: "outside the window", activity: []Activity{act("a", 200)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, StaleActivity(timelines, tc.activity, Interval{Start: at(0), End: at(100)}))
		})
	}
}

func TestIsActivity(t *testing.T) {
	line := func(msg, err string) replica.LogLine {
		return replica.LogLine{Msg: msg, Fields: map[string]any{"msg": msg, "err": err}}
	}
	tests := []struct {
		line replica.LogLine
		want bool
	}{
		{line("rolebinding created", ""), true},
		{line("resourcequota updated", ""), true},
		{line("pod deletion cost set", ""), true},
		{line("Reconciler error", `create rolebinding p/x: rolebindings "x" already exists`), true},
		{line("Reconciler error", "add finalizer to project p: the object has been modified"), true},
		{line("Reconciler error", `get namespace project-p: Get "https://127.0.0.1:1/api/v1/namespaces/project-p": context canceled`), false},
		{line("Reconciler error", "add finalizer to project p: "+leader.ErrStaleLease.Error()), false},
		{line("leader observed", ""), false},
		{line("leadership acquired", ""), false},
		{line("Starting workers", ""), false},
	}
	for _, tc := range tests {
		t.Run(tc.line.Msg+" "+tc.line.String("err"), func(t *testing.T) {
			assert.Equal(t, tc.want, IsActivity(tc.line))
		})
	}
}
