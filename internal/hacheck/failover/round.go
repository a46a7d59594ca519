package failover

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/primus-dev/primus/internal/hacheck/audit"
	"github.com/primus-dev/primus/internal/hacheck/replica"
	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
	"github.com/primus-dev/primus/internal/platform/leader"
)

// round takes the leader down by mode, measures, restarts a replica so
// three run again and judges the round. It reports settled=false when the
// replicas did not get back to one leader, after which no round can run.
// An error means the measurement itself failed.
func (r *runner) round(ctx context.Context, n int, mode Mode) (round Round, settled bool, err error) {
	round = Round{Number: n, Mode: mode}
	start := time.Now()
	old, err := replica.WaitSingleLeaderOf(ctx, r.fleet.Live(), r.token, r.inst.Lease(), r.settleTimeout())
	if err != nil {
		return round, false, err
	}
	round.OldHolder = old.Name
	if round.OldIdentity, err = r.holderIdentity(ctx); err != nil {
		return round, false, err
	}
	probe := replica.StartProber(r.fleet.Live, r.token, r.opts.ProbeInterval)
	defer probe.Close()

	down, err := r.takeDown(ctx, old, mode)
	if err != nil {
		return round, false, err
	}
	r.prog.Step("round %d %s: %s %s (the leader)", n, mode, r.fleet.SignalName(mode), old.Name)

	project := r.newProject(n, mode)
	round.Project = project.Name
	r.clientErrs = r.createProject(ctx, project)
	r.projects = append(r.projects, &projectRecord{name: project.Name, round: n, spec: project.Spec})

	holder, seen, err := r.waitNewHolder(ctx, round.OldIdentity)
	if err != nil {
		return round, false, err
	}
	if holder != "" {
		round.NewHolder, round.NewIdentity, round.TimeToLeader = leader.HolderPod(holder), holder, Seconds(seen.Sub(down))
	}
	if _, ready, err := r.inst.WaitProjectReady(ctx, project.Name, 50*time.Millisecond, r.settleTimeout()); err == nil {
		round.TimeToReconcile = Seconds(ready.Sub(down))
		r.recordNamespace(ctx, project.Name)
	}
	r.prog.Step("  %s leads after %s (bound %s); project %s reconciled after %s (bound %s)", orNobody(round.NewHolder), round.TimeToLeader,
		boundOf(Bound(mode, r.timings)), project.Name, round.TimeToReconcile, boundOf(ReconcileBound(mode, r.timings)))

	if err := r.finish(ctx, &round, old, down); err != nil {
		return round, false, err
	}
	if settled, err = r.restore(ctx, &round); err != nil {
		return round, false, err
	}
	round.API = probe.Close()
	round.API.Failures = append(r.clientErrs, round.API.Failures...)
	if err := r.conclude(ctx, &round, Interval{Start: start, End: time.Now()}); err != nil {
		return round, false, err
	}
	if !settled {
		round.Violations = append(round.Violations, "the replicas did not get back to one leader")
	}
	r.prog.Step("  %s started; %d API calls, %d errors; %s", strings.Join(round.Replacements, ", "), round.API.Calls, len(round.API.Failures), verdict(round))
	return round, settled, nil
}

// restore brings the fleet back to full strength (replacements for the
// replica taken down, and for any other that exited during the round) and
// reports whether the replicas got back to one leader.
func (r *runner) restore(ctx context.Context, round *Round) (bool, error) {
	started, restored, err := r.fleet.Restore(ctx)
	round.Replacements = append(round.Replacements, started...)
	if err != nil || !restored {
		return false, err
	}
	_, err = replica.WaitSingleLeaderOf(ctx, r.fleet.Live(), r.token, r.inst.Lease(), r.settleTimeout())
	return err == nil, ctx.Err()
}

// conclude reads the Lease's transitions and every replica's log for the
// round's window, and judges the round.
func (r *runner) conclude(ctx context.Context, round *Round, window Interval) error {
	le := r.inst.LeaderElection
	lease, err := r.inst.Kube().CoordinationV1().Leases(le.LeaseNamespace).Get(ctx, le.LeaseName, metav1.GetOptions{})
	if err == nil && lease.Spec.LeaseTransitions != nil {
		round.LeaseTransitions = *lease.Spec.LeaseTransitions
	}
	if err := r.analyse(round, window); err != nil {
		return err
	}
	round.Bound = Seconds(Bound(round.Mode, r.timings))
	round.ReconcileBound = Seconds(ReconcileBound(round.Mode, r.timings))
	round.Violations = append(append(Judge(*round, r.timings), round.Violations...), r.checkProjects(ctx)...)
	return nil
}

// takeDown takes the leader down through the fleet and returns when.
func (r *runner) takeDown(ctx context.Context, old *replica.Replica, mode Mode) (time.Time, error) {
	at, err := r.fleet.TakeDown(ctx, old, mode)
	if mode == Crash {
		r.killed[old] = at
	}
	return at, err
}

// holderIdentity reads the Lease's holder identity now.
func (r *runner) holderIdentity(ctx context.Context) (string, error) {
	le := r.inst.LeaderElection
	lease, err := r.inst.Kube().CoordinationV1().Leases(le.LeaseNamespace).Get(ctx, le.LeaseName, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("read Lease %s/%s: %w", le.LeaseNamespace, le.LeaseName, err)
	}
	if h := lease.Spec.HolderIdentity; h != nil {
		return *h, nil
	}
	return "", nil
}

// createProject creates p through the first live replica that accepts it,
// as a client retrying on the Service would, and returns the failed
// attempts.
func (r *runner) createProject(ctx context.Context, p *primusv1.Project) []replica.ProbeFailure {
	var failures []replica.ProbeFailure
	deadline := time.Now().Add(r.settleTimeout())
	for time.Now().Before(deadline) && ctx.Err() == nil {
		for _, rep := range r.fleet.Live() {
			callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := rep.CreateProject(callCtx, r.token, p)
			cancel()
			if err == nil {
				return failures
			}
			failures = append(failures, replica.ProbeFailure{Time: time.Now(), Replica: rep.Name, Error: err.Error()})
		}
		time.Sleep(200 * time.Millisecond)
	}
	return failures
}

// waitNewHolder polls the Lease until it names a holder other than the
// identity old and returns that identity and when it was seen; "" after
// the timeout. Identities are per process, so a container restarted in
// place under the old leader's Pod name that takes the Lease is a new
// leader too.
func (r *runner) waitNewHolder(ctx context.Context, old string) (string, time.Time, error) {
	le := r.inst.LeaderElection
	leases := r.inst.Kube().CoordinationV1().Leases(le.LeaseNamespace)
	var holder string
	var seen time.Time
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, r.settleTimeout(), true, func(ctx context.Context) (bool, error) {
		lease, err := leases.Get(ctx, le.LeaseName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		if h := lease.Spec.HolderIdentity; h != nil && *h != "" && *h != old {
			holder, seen = *h, time.Now()
			return true, nil
		}
		return false, nil
	})
	if err != nil && ctx.Err() != nil {
		return "", time.Time{}, ctx.Err()
	}
	return holder, seen, nil
}

// finish waits for the taken-down leader to be gone: a crashed one at
// once, a terminated one after its graceful stop, a paused one after it is
// resumed (no sooner than a lease duration and a retry period after the
// pause, and after the round's Project is reconciled) and exits by itself.
func (r *runner) finish(ctx context.Context, round *Round, old *replica.Replica, down time.Time) error {
	switch round.Mode {
	case Crash, Graceful:
		wctx, cancel := context.WithTimeout(ctx, 45*time.Second)
		defer cancel()
		code, err := old.Wait(wctx)
		switch {
		case err != nil:
			round.Violations = append(round.Violations, err.Error())
			return old.Close(ctx)
		case round.Mode == Graceful && code != 0:
			round.Violations = append(round.Violations, fmt.Sprintf("%s exited %d after SIGTERM, not 0", old.Name, code))
		}
		return nil
	}
	select {
	case <-time.After(time.Until(down.Add(r.timings.LeaseDuration.D() + r.timings.RetryPeriod.D()))):
	case <-ctx.Done():
		return ctx.Err()
	}
	resumed, err := old.Resume()
	if err != nil {
		return err
	}
	r.frozen[old] = append(r.frozen[old], Interval{Start: down, End: resumed})
	res := &Resumed{Identity: old.Name, PausedFor: Seconds(resumed.Sub(down))}
	// Give every running controller work at once: a resumed leader whose
	// controllers still run would act on this change.
	r.clientErrs = append(r.clientErrs, r.addMember(ctx, round.Project)...)
	wctx, cancel := context.WithTimeout(ctx, r.timings.RenewDeadline.D()+r.timings.LeaseDuration.D()+15*time.Second)
	defer cancel()
	if code, err := old.Wait(wctx); err == nil {
		res.Exited, res.ExitCode, res.ExitedAfter = true, code, Seconds(old.ExitedAt().Sub(resumed))
	} else if err := old.Close(ctx); err != nil {
		return err
	}
	if events, err := old.Events(); err == nil {
		for _, e := range events {
			if e.Kind == replica.Lost && e.Time.After(resumed) {
				res.LostAfter = Seconds(e.Time.Sub(resumed))
			}
		}
	}
	lines, err := old.Log()
	if err != nil {
		return err
	}
	for _, l := range lines {
		if l.Time.After(resumed) && IsActivity(l) {
			res.Activity = append(res.Activity, Activity{Identity: old.Name, Time: l.Time, Msg: l.Msg})
		}
	}
	round.Resumed = res
	r.prog.Step("  SIGCONT %s after %s: it logged the loss after %s and exited (code %d) after %s",
		old.Name, res.PausedFor, res.LostAfter, res.ExitCode, res.ExitedAfter)
	return nil
}

// lateMember is the member a pause round adds right after SIGCONT.
var lateMember = primusv1.Member{Kind: primusv1.MemberUser, Name: "late@example.com", Role: primusv1.RoleView}

// addMember adds lateMember to Project name through the first live
// replica that accepts it, and returns the failed attempts.
func (r *runner) addMember(ctx context.Context, name string) []replica.ProbeFailure {
	var rec *projectRecord
	for _, p := range r.projects {
		if p.name == name {
			rec = p
		}
	}
	if rec == nil {
		return nil
	}
	p := &primusv1.Project{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: rec.spec}
	p.Spec.Members = append(slices.Clone(p.Spec.Members), lateMember)
	var failures []replica.ProbeFailure
	for _, rep := range r.fleet.Live() {
		callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := rep.UpdateProject(callCtx, r.token, p)
		cancel()
		if err == nil {
			rec.spec = p.Spec
			return failures
		}
		failures = append(failures, replica.ProbeFailure{Time: time.Now(), Replica: rep.Name, Error: err.Error()})
	}
	return failures
}

// analyse reads every replica's log and fills the round's overlaps and
// stale activity within window.
func (r *runner) analyse(round *Round, window Interval) error {
	var timelines []Timeline
	var activity []Activity
	labels := processLabels(r.fleet.All())
	for _, rep := range r.fleet.All() {
		lines, err := rep.Log()
		if err != nil {
			return err
		}
		t := Timeline{Identity: labels[rep], Events: replica.Events(lines), Frozen: slices.Clone(r.frozen[rep])}
		if at, ok := r.killed[rep]; ok {
			t.Ended = at
		} else if rep.Exited() {
			t.Ended = rep.ExitedAt()
		}
		timelines = append(timelines, t)
		for _, l := range lines {
			if IsActivity(l) {
				activity = append(activity, Activity{Identity: labels[rep], Time: l.Time, Msg: l.Msg})
			}
		}
	}
	round.Overlaps = Overlaps(timelines, window)
	round.StaleActivity = StaleActivity(timelines, activity, window)
	round.Oracle = OracleLogs
	if path := r.cluster.AuditLog(); path != "" {
		rec, err := r.auditRecord(path, window)
		if err != nil {
			return err
		}
		round.Oracle, round.SplitBrainWrites, round.ControllerWrites = OracleAudit, rec.Violations, len(rec.Writes)
	}
	return nil
}

// auditRecord reads the API server's audit log and judges the controller
// writes of this run's replicas completed within window.
func (r *runner) auditRecord(path string, window Interval) (*audit.Record, error) {
	reqs, err := audit.ReadFile(path)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, rep := range r.fleet.All() {
		names[rep.Name] = true
	}
	le := r.inst.LeaderElection
	return audit.Analyse(reqs, audit.Options{
		LeaseNamespace: le.LeaseNamespace, LeaseName: le.LeaseName, From: window.Start, To: window.End,
		Scope: func(p audit.Process) bool { return names[leader.HolderPod(p.Identity)] },
	}), nil
}

// verdict is the one-word result of a round for progress lines.
func verdict(r Round) string {
	if len(r.Violations) == 0 {
		return "ok"
	}
	return fmt.Sprintf("FAILED (%d violations)", len(r.Violations))
}

// processLabels names each process for the timelines: its replica's name,
// with "#2", "#3" ... for the later processes of a Pod whose container
// was restarted in place, so that each Timeline is one process.
func processLabels(all []*replica.Replica) map[*replica.Replica]string {
	out := map[*replica.Replica]string{}
	seen := map[string]int{}
	for _, rep := range all {
		seen[rep.Name]++
		out[rep] = rep.Name
		if n := seen[rep.Name]; n > 1 {
			out[rep] = fmt.Sprintf("%s#%d", rep.Name, n)
		}
	}
	return out
}

// boundOf prints a bound, or "none" for a mode that has none (zero).
func boundOf(b time.Duration) string {
	if b > 0 {
		return Seconds(b).String()
	}
	return "none"
}
