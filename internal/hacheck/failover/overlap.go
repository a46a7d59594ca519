package failover

import (
	"context"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/primus-dev/primus/internal/hacheck/replica"
	"github.com/primus-dev/primus/internal/platform/leader"
)

// Interval is a span of time, Start inclusive, End exclusive.
type Interval struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Duration returns the length of i, zero when it is empty.
func (i Interval) Duration() time.Duration {
	if !i.End.After(i.Start) {
		return 0
	}
	return i.End.Sub(i.Start)
}

// intersect returns the common part of a and b, and whether it is
// non-empty.
func intersect(a, b Interval) (Interval, bool) {
	out := Interval{Start: maxTime(a.Start, b.Start), End: minTime(a.End, b.End)}
	return out, out.End.After(out.Start)
}

// subtract returns the parts of i outside cut.
func subtract(i, cut Interval) []Interval {
	if _, ok := intersect(i, cut); !ok {
		return []Interval{i}
	}
	var out []Interval
	if cut.Start.After(i.Start) {
		out = append(out, Interval{Start: i.Start, End: cut.Start})
	}
	if i.End.After(cut.End) {
		out = append(out, Interval{Start: cut.End, End: i.End})
	}
	return out
}

// Timeline is what one replica process says and what was done to it:
// each process has its own identity (a restarted replica gets a new
// name), so one Timeline is one process.
type Timeline struct {
	// Identity is the replica's leader-election identity.
	Identity string
	// Events are its leadership events from its own log, in time order.
	Events []replica.Event
	// Ended is when the process stopped without logging the end of its
	// leadership: the SIGKILL time of a killed replica, the exit time of
	// one that crashed. Zero while it runs or when it logged the end.
	Ended time.Time
	// Frozen are the spans the process was stopped (SIGSTOP to SIGCONT,
	// or to its end): it believed it led but could do nothing.
	Frozen []Interval
}

// span is a leadership span; resumed marks one that began at a SIGCONT:
// the process woke up believing it still led.
type span struct {
	Interval
	resumed bool
}

// Leadership returns the spans in which the process believed it led
// (from "leadership acquired" to "released" or "lost", else to Ended,
// else to now) and could act (its Frozen spans removed).
func (t Timeline) Leadership(now time.Time) []Interval {
	var out []Interval
	for _, s := range t.leadership(now) {
		out = append(out, s.Interval)
	}
	return out
}

// leadership is Leadership with the spans that began at a SIGCONT marked.
func (t Timeline) leadership(now time.Time) []span {
	events := slices.Clone(t.Events)
	sort.SliceStable(events, func(a, b int) bool { return events[a].Time.Before(events[b].Time) })
	var spans []span
	var open *time.Time
	for _, e := range events {
		switch e.Kind {
		case replica.Acquired:
			if open == nil {
				at := e.Time
				open = &at
			}
		case replica.Released, replica.Lost:
			if open != nil {
				spans = append(spans, span{Interval: Interval{Start: *open, End: e.Time}})
				open = nil
			}
		}
	}
	if open != nil {
		end := now
		if !t.Ended.IsZero() && t.Ended.Before(now) {
			end = t.Ended
		}
		if end.After(*open) {
			spans = append(spans, span{Interval: Interval{Start: *open, End: end}})
		}
	}
	for _, f := range t.Frozen {
		var kept []span
		for _, s := range spans {
			for _, piece := range subtract(s.Interval, f) {
				kept = append(kept, span{Interval: piece, resumed: s.resumed || piece.Start.Equal(f.End)})
			}
		}
		spans = kept
	}
	return spans
}

// Overlap is a span in which two replicas both believed they led and
// both could act.
type Overlap struct {
	// Identities are the two replicas, in name order.
	Identities [2]string `json:"identities"`
	// Start is when the overlap began.
	Start time.Time `json:"start"`
	// Duration is how long it lasted.
	Duration Seconds `json:"durationSeconds"`
	// Resumed names the replica whose part began at a SIGCONT: it woke up
	// from a pause still believing it led, while the other had taken the
	// Lease. No election can prevent that span, only end it fast and keep
	// the stale leader from acting in it (see StaleActivity); empty for a
	// split brain between two replicas that both ran.
	Resumed string `json:"resumed,omitempty"`
}

// SplitBrain reports whether the overlap is two running replicas leading
// at once, not a paused one waking up.
func (o Overlap) SplitBrain() bool { return o.Resumed == "" }

// Overlaps returns every span within window in which two of the timelines
// led at once, ordered by start. Spans still open are cut at window.End.
func Overlaps(timelines []Timeline, window Interval) []Overlap {
	type led struct {
		identity string
		spans    []span
	}
	var all []led
	for _, t := range timelines {
		var spans []span
		for _, s := range t.leadership(window.End) {
			if in, ok := intersect(s.Interval, window); ok {
				spans = append(spans, span{Interval: in, resumed: s.resumed})
			}
		}
		all = append(all, led{identity: t.Identity, spans: spans})
	}
	var out []Overlap
	for a := range all {
		for b := a + 1; b < len(all); b++ {
			for _, sa := range all[a].spans {
				for _, sb := range all[b].spans {
					in, ok := intersect(sa.Interval, sb.Interval)
					if !ok {
						continue
					}
					o := Overlap{Identities: [2]string{all[a].identity, all[b].identity}, Start: in.Start, Duration: Seconds(in.Duration())}
					if o.Identities[1] < o.Identities[0] {
						o.Identities[0], o.Identities[1] = o.Identities[1], o.Identities[0]
					}
					switch {
					case sa.resumed:
						o.Resumed = all[a].identity
					case sb.resumed:
						o.Resumed = all[b].identity
					}
					out = append(out, o)
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// Activity is a log line that shows a replica's controllers at work:
// reconciling, or writing on the leader's behalf.
type Activity struct {
	Identity string    `json:"identity"`
	Time     time.Time `json:"time"`
	Msg      string    `json:"msg"`
	// Holder is who held the Lease at Time, by the acquisitions logged.
	Holder string `json:"holder"`
}

// activityMessages are the log messages of controller work: every write
// internal/controller and internal/leader log, and controller-runtime's
// line for a failed reconcile. The controller does not log the namespace
// it creates nor the status it patches; the audit checks those on the
// objects.
var activityMessages = map[string]bool{
	"rolebinding created": true, "rolebinding updated": true, "rolebinding deleted": true,
	"resourcequota created": true, "resourcequota updated": true, "resourcequota deleted": true,
	"namespace deleted": true, "project cleaned up": true, "project spec invalid": true,
	"namespace belongs to someone else": true, "pod deletion cost set": true,
	reconcilerError: true,
}

// reconcilerError is controller-runtime's message for a reconcile that
// returned an error.
const reconcilerError = "Reconciler error"

// IsActivity reports whether a log line shows controller work that
// reached the API server: a write, or a reconcile that failed for another
// reason than the two that send nothing, its context being cancelled (a
// controller stopped mid-reconcile) or the leader's write fence refusing
// the write (leader.ErrStaleLease).
func IsActivity(l replica.LogLine) bool {
	if !activityMessages[l.Msg] {
		return false
	}
	if l.Msg != reconcilerError {
		return true
	}
	err := l.String("err")
	return !strings.HasSuffix(err, context.Canceled.Error()) && !strings.Contains(err, leader.ErrStaleLease.Error())
}

// StaleActivity returns the activities, within window, of a replica at a
// time when another replica was the last to acquire the Lease: controller
// work by a replica that no longer (or not yet) held it.
func StaleActivity(timelines []Timeline, activity []Activity, window Interval) []Activity {
	type acq struct {
		at       time.Time
		identity string
	}
	var acqs []acq
	for _, t := range timelines {
		for _, e := range t.Events {
			if e.Kind == replica.Acquired {
				acqs = append(acqs, acq{e.Time, t.Identity})
			}
		}
	}
	sort.Slice(acqs, func(i, j int) bool { return acqs[i].at.Before(acqs[j].at) })
	var out []Activity
	for _, a := range activity {
		if a.Time.Before(window.Start) || !a.Time.Before(window.End) {
			continue
		}
		holder := ""
		for _, q := range acqs {
			if q.at.After(a.Time) {
				break
			}
			holder = q.identity
		}
		if holder != a.Identity {
			a.Holder = holder
			out = append(out, a)
		}
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
