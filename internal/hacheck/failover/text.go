package failover

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteText writes the report for a person: a header, a table per mode
// with min/median/p95/max, a line per round, then what went wrong.
func WriteText(w io.Writer, rep *Report) error {
	fmt.Fprintf(w, "failover of %s: release %s in namespace %s on %s\n", rep.Chart, rep.Release, rep.Namespace, rep.Cluster)
	fmt.Fprintf(w, "lease %s: leaseDuration %s, renewDeadline %s, retryPeriod %s; shutdown delay %s; %d replicas, %d rounds\n\n",
		rep.Lease, rep.Timings.LeaseDuration, rep.Timings.RenewDeadline, rep.Timings.RetryPeriod, rep.Timings.ShutdownDelay, rep.Replicas, len(rep.Rounds))

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODE\tROUNDS\tFAILED\tTO LEADER min / median / p95 / max\tTO RECONCILE min / median / p95 / max\tBOUND\tAPI ERRORS\tSPLIT BRAIN")
	for _, s := range rep.Summary {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%d/%d\t%d\n", s.Mode, s.Rounds, s.Failed,
			statsText(s.TimeToLeader), statsText(s.TimeToReconcile), boundText(s), s.APIErrors, s.APICalls, s.SplitBrainRounds)
	}
	tw.Flush()

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROUND\tMODE\tOLD -> NEW\tTRANSITIONS\tTO LEADER\tTO RECONCILE\tAPI ERRORS\tRESULT")
	for _, r := range rep.Rounds {
		result := "ok"
		if len(r.Violations) > 0 {
			result = "FAIL"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s -> %s\t%d\t%s\t%s\t%d/%d\t%s\n", r.Number, r.Mode, r.OldHolder, orNobody(r.NewHolder),
			r.LeaseTransitions, r.TimeToLeader, r.TimeToReconcile, len(r.API.Failures), r.API.Calls, result)
	}
	tw.Flush()

	if oracle, writes, bad := oracleOf(rep); oracle != "" {
		fmt.Fprintf(w, "\nsplit brain judged from the %s", oracle)
		if oracle == OracleAudit {
			fmt.Fprintf(w, ": %d controller writes, %d outside their writer's leadership or concurrent", writes, bad)
		}
		fmt.Fprintln(w)
	}
	writeDetails(w, rep)
	failed := 0
	for _, r := range rep.Rounds {
		if len(r.Violations) > 0 {
			failed++
		}
	}
	switch {
	case rep.Passed:
		fmt.Fprintf(w, "\nall %d rounds passed\n", len(rep.Rounds))
	case failed > 0:
		fmt.Fprintf(w, "\n%d of %d rounds failed\n", failed, len(rep.Rounds))
	default:
		fmt.Fprintf(w, "\nall %d rounds passed; the project audit failed\n", len(rep.Rounds))
	}
	if rep.LogDir != "" {
		fmt.Fprintf(w, "replica logs kept in %s\n", rep.LogDir)
	}
	return nil
}

// writeDetails writes what each pause round's resumed leader did, every
// violation, every API error and the project audit.
func writeDetails(w io.Writer, rep *Report) {
	var lines []string
	for _, r := range rep.Rounds {
		if res := r.Resumed; res != nil {
			exit := "did not exit"
			if res.Exited {
				exit = fmt.Sprintf("exited %d after %s", res.ExitCode, res.ExitedAfter)
			}
			lines = append(lines, fmt.Sprintf("round %d (pause): %s paused %s; after SIGCONT it still led for %s while %s held the Lease (until it logged \"leadership lost\"), logged %d controller action(s) and %s",
				r.Number, res.Identity, res.PausedFor, res.LostAfter, orNobody(r.NewHolder), len(res.Activity), exit))
		}
		for _, v := range r.Violations {
			lines = append(lines, fmt.Sprintf("round %d (%s): %s", r.Number, r.Mode, v))
		}
		for _, f := range r.API.Failures {
			lines = append(lines, fmt.Sprintf("round %d (%s): API error from %s at %s: %s", r.Number, r.Mode, f.Replica, f.Time.Format(timeOfDay), oneLine(f.Error)))
		}
	}
	ready := 0
	for _, a := range rep.Projects {
		if a.Ready {
			ready++
		}
		for _, p := range a.Problems {
			lines = append(lines, fmt.Sprintf("project %s (round %d): %s", a.Name, a.Round, p))
		}
	}
	lines = append(lines, fmt.Sprintf("projects: %d created, %d Ready at the end", len(rep.Projects), ready))
	fmt.Fprintln(w)
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
}

// statsText formats min / median / p95 / max, or "-" without data.
func statsText(s Stats) string {
	if s.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%s / %s / %s / %s", s.Min, s.Median, s.P95, s.Max)
}

// boundText names a mode's bounds in the table: on the time to a new
// leader, and on the time to reconcile.
func boundText(s ModeSummary) string {
	if s.Mode == Pause {
		return "resumed leader exits"
	}
	if s.ReconcileBound == 0 {
		return "<= " + s.Bound.String()
	}
	return fmt.Sprintf("<= %s, reconcile <= %s", s.Bound, s.ReconcileBound)
}

// oneLine folds an error message onto one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// oracleOf returns the oracle of the rounds, their controller writes and
// the split-brain writes among them.
func oracleOf(rep *Report) (oracle string, writes, bad int) {
	for _, r := range rep.Rounds {
		if r.Oracle != "" {
			oracle = r.Oracle
		}
		writes += r.ControllerWrites
		bad += len(r.SplitBrainWrites)
	}
	return oracle, writes, bad
}
