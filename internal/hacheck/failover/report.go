package failover

import (
	"slices"
	"time"

	"github.com/primus-dev/primus/internal/hacheck/audit"
	"github.com/primus-dev/primus/internal/hacheck/replica"
)

// Timings are the leader-election settings the replicas ran with, from the
// rendered Deployment's args.
type Timings struct {
	LeaseDuration Seconds `json:"leaseDurationSeconds"`
	RenewDeadline Seconds `json:"renewDeadlineSeconds"`
	RetryPeriod   Seconds `json:"retryPeriodSeconds"`
	// ShutdownDelay is how long a replica's API keeps serving, unready,
	// after SIGTERM (--shutdown-delay); a leader releases the Lease at once.
	ShutdownDelay Seconds `json:"shutdownDelaySeconds"`
}

// Report is the result of a measurement.
type Report struct {
	// Chart, Release and Namespace are what was installed.
	Chart     string `json:"chart"`
	Release   string `json:"release"`
	Namespace string `json:"namespace"`
	// Cluster describes the cluster ("embedded (3 nodes, 3 zones)" or the
	// API server URL).
	Cluster string `json:"cluster"`
	// Lease is namespace/name of the leader-election Lease.
	Lease   string  `json:"lease"`
	Timings Timings `json:"timings"`
	// Replicas is how many replicas ran at once.
	Replicas int `json:"replicas"`
	// Rounds are every round, in the order they ran.
	Rounds []Round `json:"rounds"`
	// Summary has one entry per mode that ran.
	Summary []ModeSummary `json:"summary"`
	// Projects audits every Project the rounds created.
	Projects []ProjectAudit `json:"projects"`
	// Passed is true when no round and no Project audit has a violation.
	Passed bool `json:"passed"`
	// LogDir holds the replicas' logs when they were kept.
	LogDir string `json:"logDir,omitempty"`
}

// Round is one take-down of the leader.
type Round struct {
	// Number counts rounds from 1 across modes.
	Number int  `json:"number"`
	Mode   Mode `json:"mode"`
	// OldHolder is the leader taken down; NewHolder who took the Lease.
	OldHolder string `json:"oldHolder"`
	NewHolder string `json:"newHolder"`
	// OldIdentity and NewIdentity are their leader-election identities
	// (one per process: a container restarted in place under the old
	// leader's Pod that takes the Lease has NewHolder == OldHolder and
	// another identity).
	OldIdentity string `json:"oldIdentity,omitempty"`
	NewIdentity string `json:"newIdentity,omitempty"`
	// LeaseTransitions is the Lease's spec.leaseTransitions after the round.
	LeaseTransitions int32 `json:"leaseTransitions"`
	// TimeToLeader runs from the signal to the first read of the Lease
	// naming a new holder.
	TimeToLeader Seconds `json:"timeToLeaderSeconds"`
	// TimeToReconcile runs from the signal to the first read of Project
	// (created right after the signal) Ready for its generation.
	TimeToReconcile Seconds `json:"timeToReconcileSeconds"`
	Project         string  `json:"project"`
	// Bound is the time-to-leader bound of the mode; zero when it has none.
	Bound Seconds `json:"boundSeconds,omitempty"`
	// ReconcileBound is the time-to-reconcile bound of the mode (see
	// ReconcileBound); zero when it has none.
	ReconcileBound Seconds `json:"reconcileBoundSeconds,omitempty"`
	// API is what a client calling every live replica's API saw.
	API replica.ProbeResult `json:"api"`
	// Oracle says what judged split brain: OracleAudit (the API server's
	// audit log, on the embedded cluster) or OracleLogs (the processes'
	// own logs, on a cluster whose audit log hacheck cannot read).
	Oracle string `json:"oracle"`
	// SplitBrainWrites are the controller writes the audit log shows a
	// process made outside its own leadership, or while another process's
	// were in flight (OracleAudit only).
	SplitBrainWrites []audit.Violation `json:"splitBrainWrites,omitempty"`
	// ControllerWrites counts the controller writes the audit log shows in
	// the round's window, all judged (OracleAudit only).
	ControllerWrites int `json:"controllerWrites,omitempty"`
	// Overlaps are the spans in which two replicas believed they led and
	// could both act: split brains, and the stale span of a paused leader
	// after SIGCONT (Overlap.Resumed).
	Overlaps []Overlap `json:"overlaps,omitempty"`
	// StaleActivity is controller work logged by a replica while another
	// was the last to acquire the Lease.
	StaleActivity []Activity `json:"staleActivity,omitempty"`
	// Resumed is what the paused leader did after SIGCONT (pause only).
	Resumed *Resumed `json:"resumed,omitempty"`
	// Replacements are the replicas started after the round to run three
	// again: one for the leader taken down, and one for any other replica
	// that exited meanwhile.
	Replacements []string `json:"replacements"`
	// Violations say why the round failed; empty when it passed.
	Violations []string `json:"violations,omitempty"`
}

// The oracles of Round.Oracle.
const (
	OracleAudit = "audit log"
	OracleLogs  = "processes' logs"
)

// SplitBrain reports whether two replicas acted as leader at once in the
// round. With the audit log: a controller write outside the writer's
// leadership, or two processes' controller writes in flight at once.
// Without it, from the processes' logs: a split-brain overlap, or
// controller work logged by a replica that did not hold the Lease.
func (r Round) SplitBrain() bool {
	if r.Oracle == OracleAudit {
		return len(r.SplitBrainWrites) > 0
	}
	return len(r.StaleActivity) > 0 || slices.ContainsFunc(r.Overlaps, Overlap.SplitBrain)
}

// Resumed is what a paused leader did once it could run again.
type Resumed struct {
	Identity string `json:"identity"`
	// PausedFor is how long it was stopped.
	PausedFor Seconds `json:"pausedForSeconds"`
	// Exited is true when it exited on its own; ExitCode is its code and
	// ExitedAfter the time from SIGCONT to its exit.
	Exited      bool    `json:"exited"`
	ExitCode    int     `json:"exitCode"`
	ExitedAfter Seconds `json:"exitedAfterSeconds"`
	// LostAfter is the time from SIGCONT to its "leadership lost" line:
	// how long it still believed it led, its controllers running, while
	// another replica held the Lease. Zero when it logged no loss.
	LostAfter Seconds `json:"lostAfterSeconds"`
	// Activity is the controller work it logged after SIGCONT.
	Activity []Activity `json:"activity,omitempty"`
}

// ModeSummary aggregates the rounds of one mode.
type ModeSummary struct {
	Mode            Mode  `json:"mode"`
	Rounds          int   `json:"rounds"`
	Failed          int   `json:"failed"`
	TimeToLeader    Stats `json:"timeToLeader"`
	TimeToReconcile Stats `json:"timeToReconcile"`
	APICalls        int   `json:"apiCalls"`
	APIErrors       int   `json:"apiErrors"`
	// SplitBrainRounds counts the rounds in which two replicas acted as
	// leader at once: both running and leading (a split-brain overlap), or
	// one doing controller work without holding the Lease.
	SplitBrainRounds int `json:"splitBrainRounds"`
	// Bound is the mode's time-to-leader bound; zero when it has none.
	Bound Seconds `json:"boundSeconds,omitempty"`
	// ReconcileBound is the mode's time-to-reconcile bound; zero when it
	// has none.
	ReconcileBound Seconds `json:"reconcileBoundSeconds,omitempty"`
}

// ProjectAudit is what became of one Project a round created.
type ProjectAudit struct {
	Name  string `json:"name"`
	Round int    `json:"round"`
	// Exists and Ready are its state at the end.
	Exists bool `json:"exists"`
	Ready  bool `json:"ready"`
	// NamespaceUID is the UID of its namespace when it first became Ready;
	// NamespaceRecreated is true when the namespace later had another UID
	// or creation time (the namespace was created twice).
	NamespaceUID       string `json:"namespaceUID"`
	NamespaceRecreated bool   `json:"namespaceRecreated"`
	// QuotaCreates and RoleBindingCreates count the "created" lines of
	// every replica's log for the project's namespace: one quota and one
	// RoleBinding per member when nothing was applied twice.
	QuotaCreates       int `json:"quotaCreates"`
	RoleBindingCreates int `json:"roleBindingCreates"`
	// RoleBindings are the names of the RoleBindings labelled for it;
	// RoleBindingsMatch is true when they are exactly its members'.
	RoleBindings      []string `json:"roleBindings"`
	RoleBindingsMatch bool     `json:"roleBindingsMatch"`
	// Problems say what is wrong; empty when nothing is.
	Problems []string `json:"problems,omitempty"`
}

// Bound returns the time-to-leader bound of mode: leaseDuration + 2 x
// retryPeriod after a crash (the Lease must expire, then a candidate's next
// try takes it), 2 s after SIGTERM (the stopping leader releases the Lease
// at once; only its API keeps serving for the shutdown delay), none (zero)
// for a pause, whose check is that the resumed process exits.
func Bound(mode Mode, t Timings) time.Duration {
	switch mode {
	case Crash:
		return t.LeaseDuration.D() + 2*t.RetryPeriod.D()
	case Graceful:
		return 2 * time.Second
	}
	return 0
}

// ReconcileAllowance is how long after its time-to-leader bound a mode
// gives the Project created right after the signal to be reconciled: the
// new leader starts its controllers, syncs its caches and runs one
// reconcile, which takes under a second on an idle machine (README's
// failover tables). 5 s leaves room for a loaded CI machine and still
// catches a replica that holds the Lease without running its controllers,
// the bug that delayed reconciles by a whole lease duration (15 s).
const ReconcileAllowance = 5 * time.Second

// ReconcileBound returns the time-to-reconcile bound of mode, counted from
// the signal as TimeToReconcile is: the time-to-leader bound plus
// ReconcileAllowance; zero when the mode has no time-to-leader bound.
func ReconcileBound(mode Mode, t Timings) time.Duration {
	b := Bound(mode, t)
	if b == 0 {
		return 0
	}
	return b + ReconcileAllowance
}

// summarize builds the per-mode summary of rounds, in the order of modes.
func summarize(rounds []Round, modes []Mode, t Timings) []ModeSummary {
	var out []ModeSummary
	for _, m := range modes {
		s := ModeSummary{Mode: m, Bound: Seconds(Bound(m, t)), ReconcileBound: Seconds(ReconcileBound(m, t))}
		var toLeader, toReconcile []time.Duration
		for _, r := range rounds {
			if r.Mode != m {
				continue
			}
			s.Rounds++
			if len(r.Violations) > 0 {
				s.Failed++
			}
			if r.NewHolder != "" {
				toLeader = append(toLeader, r.TimeToLeader.D())
			}
			if r.TimeToReconcile > 0 {
				toReconcile = append(toReconcile, r.TimeToReconcile.D())
			}
			s.APICalls += r.API.Calls
			s.APIErrors += len(r.API.Failures)
			if r.SplitBrain() {
				s.SplitBrainRounds++
			}
		}
		s.TimeToLeader, s.TimeToReconcile = Summarize(toLeader), Summarize(toReconcile)
		out = append(out, s)
	}
	return out
}

// passed reports whether no round and no audit has a violation.
func passed(rounds []Round, audits []ProjectAudit) bool {
	for _, r := range rounds {
		if len(r.Violations) > 0 {
			return false
		}
	}
	for _, a := range audits {
		if len(a.Problems) > 0 {
			return false
		}
	}
	return true
}
