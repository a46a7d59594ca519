package failover

import (
	"fmt"
)

// BoundReason says where the time-to-leader bound of mode comes from,
// "" for a mode without one.
func BoundReason(mode Mode) string { return boundReasons[mode] }

// boundReasons explain each mode's bound in a violation.
var boundReasons = map[Mode]string{
	Crash:    "leaseDuration + 2 x retryPeriod",
	Graceful: "a released Lease is taken at once",
}

// Judge returns the violations of what a round recorded: no new leader,
// a time to leader over the mode's bound, a Project never reconciled or
// reconciled after the mode's ReconcileBound, two
// running replicas leading at once, controller work by a replica that did
// not hold the Lease, and (pause) a resumed leader that did not exit. A
// paused leader that wakes up still believing it leads is no violation by
// itself (nothing can prevent it); acting on that belief is.
func Judge(r Round, t Timings) []string {
	var v []string
	b := Bound(r.Mode, t)
	switch {
	case r.NewHolder == "":
		v = append(v, "no replica took the Lease")
	case b > 0 && r.TimeToLeader.D() > b:
		v = append(v, fmt.Sprintf("time to leader %s exceeds the bound %s (%s)", r.TimeToLeader, Seconds(b), boundReasons[r.Mode]))
	}
	rb := ReconcileBound(r.Mode, t)
	switch {
	case r.TimeToReconcile == 0:
		v = append(v, fmt.Sprintf("project %s was never reconciled", r.Project))
	case rb > 0 && r.TimeToReconcile.D() > rb:
		v = append(v, fmt.Sprintf("time to reconcile %s exceeds the bound %s (the time-to-leader bound + %s for the new leader to start its controllers and reconcile)",
			r.TimeToReconcile, Seconds(rb), ReconcileAllowance))
	}
	if r.Oracle == OracleAudit {
		// The API server's record decides; the logs only explain.
		for _, w := range r.SplitBrainWrites {
			v = append(v, "split brain (audit log): "+w.Message)
		}
	} else {
		for _, o := range r.Overlaps {
			if o.SplitBrain() {
				v = append(v, fmt.Sprintf("split brain: %s and %s both led for %s from %s",
					o.Identities[0], o.Identities[1], o.Duration, o.Start.Format(timeOfDay)))
			}
		}
		for _, a := range r.StaleActivity {
			v = append(v, fmt.Sprintf("%s logged %q at %s while %s held the Lease", a.Identity, a.Msg, a.Time.Format(timeOfDay), orNobody(a.Holder)))
		}
	}
	if r.Mode == Pause {
		switch {
		case r.Resumed == nil:
			v = append(v, "the paused leader was never resumed")
		case !r.Resumed.Exited:
			v = append(v, fmt.Sprintf("the resumed %s did not exit", r.Resumed.Identity))
		}
	}
	return v
}

// timeOfDay formats times in violations and text reports.
const timeOfDay = "15:04:05.000"

func orNobody(s string) string {
	if s == "" {
		return "nobody"
	}
	return s
}
