package action

import (
	"context"
	"errors"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/hacheck/failover"
	"github.com/primus-dev/primus/internal/hacheck/progress"
	"github.com/primus-dev/primus/internal/hacheck/render"
	"github.com/primus-dev/primus/internal/hacheck/verify"
)

// The ids of the checks verify --failover adds after the live checks, in
// report order. They are a public surface: added to, never renamed.
const (
	// CheckFailoverCrash: after kill -9 of the leader's process, a new
	// leader within leaseDuration + 2 x retryPeriod and the Project created
	// after the kill reconciled.
	CheckFailoverCrash = "failover-crash"
	// CheckFailoverGraceful: after the leader's Pod is deleted (SIGTERM, the
	// Lease released), a new leader within 2 s and the Project created
	// after the deletion reconciled.
	CheckFailoverGraceful = "failover-graceful"
	// CheckFailoverSplitBrain: the split-brain oracle (the API server's
	// audit log on the embedded cluster) saw no controller write outside
	// its writer's leadership, nor two processes' writes at once, in the
	// rounds.
	CheckFailoverSplitBrain = "failover-split-brain"
)

// FailoverChecks are the ids of the checks verify --failover adds.
var FailoverChecks = []string{CheckFailoverCrash, CheckFailoverGraceful, CheckFailoverSplitBrain}

// failoverRounds are the rounds verify --failover measures, in order, and
// the check that judges each.
var failoverRounds = []struct {
	mode  failover.Mode
	check string
}{{failover.Crash, CheckFailoverCrash}, {failover.Graceful, CheckFailoverGraceful}}

// errServeNamed refuses --serve on a cluster the user named.
var errServeNamed = &render.InputError{Err: errors.New("--serve keeps the embedded cluster and the replicas hacheck runs; on a cluster you named, the replicas already run there: drop --kubeconfig and --context")}

// errFailoverNamed refuses --failover on a cluster the user named.
var errFailoverNamed = &render.InputError{Err: errors.New("--failover kills the leader's process, which hacheck runs only on the embedded cluster: drop --kubeconfig and --context")}

// measureFailover runs one round of each failoverRounds mode on the
// release of d, whose Pods pods run, with failover's round code, and
// returns its report.
func measureFailover(ctx context.Context, c *cluster.Cluster, pods *podProcesses, d *appsv1.Deployment, objs []render.Object, opts VerifyOptions, prog *progress.Printer) (rep *failover.Report, err error) {
	size := 1
	if d.Spec.Replicas != nil {
		size = int(*d.Spec.Replicas)
	}
	s, err := failover.Attach(ctx, failover.AttachOptions{
		Cluster: c, Chart: opts.Render.Chart, Objects: objs, Namespace: d.Namespace, Release: opts.Render.ReleaseName,
		Fleet:    failover.NewPodFleet(pods.runner, c.Clientset(), d.Namespace, size),
		Progress: prog,
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		if closeErr := s.Close(context.WithoutCancel(ctx)); closeErr != nil {
			err = errors.Join(err, closeErr)
		}
	}()
	var modes []failover.Mode
	for _, fr := range failoverRounds {
		modes = append(modes, fr.mode)
		_, err := s.Round(ctx, fr.mode)
		if errors.Is(err, failover.ErrUnsettled) {
			prog.Step("the replicas never settled on one leader; no more rounds")
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return s.Report(ctx, modes), nil
}

// FailoverVerdicts turns the report of verify --failover's rounds into its
// checks: one per round (CheckFailoverCrash, CheckFailoverGraceful), which
// passes when the round has no violation (failover.Judge: a new leader
// within the mode's bound, the Project reconciled, no split brain) and the
// audit of its Project found nothing, and the split-brain oracle's verdict
// over all rounds (CheckFailoverSplitBrain). A round that did not run
// fails its check.
func FailoverVerdicts(rep *failover.Report) []verify.Check {
	var out []verify.Check
	for _, fr := range failoverRounds {
		c := verify.Check{ID: fr.check, Message: "not run: the replicas did not get back to one leader after the previous round"}
		for _, r := range rep.Rounds {
			if r.Mode == fr.mode {
				c = roundCheck(fr.check, r, rep.Projects)
				break
			}
		}
		out = append(out, c)
	}
	return append(out, splitBrainCheck(rep))
}

// roundCheck is the verdict of one round and of its Project's audit.
func roundCheck(id string, r failover.Round, audits []failover.ProjectAudit) verify.Check {
	problems := r.Violations
	for _, a := range audits {
		if a.Round == r.Number {
			problems = append(problems, a.Problems...)
		}
	}
	how := map[failover.Mode]string{failover.Crash: "kill -9 of", failover.Graceful: "SIGTERM (Pod deleted) of"}[r.Mode]
	msg := fmt.Sprintf("after %s %s (the leader): %s leads after %s (bound %s: %s); project %s reconciled after %s (bound %s); %d/%d API errors",
		how, r.OldHolder, newLeader(r), r.TimeToLeader, r.Bound, failover.BoundReason(r.Mode), r.Project, r.TimeToReconcile, r.ReconcileBound, len(r.API.Failures), r.API.Calls)
	if len(problems) > 0 {
		msg += "; " + strings.Join(problems, "; ")
	}
	return verify.Check{ID: id, Passed: len(problems) == 0, Message: msg}
}

// newLeader names the round's new leader, saying so when it is the
// container of the old leader's Pod restarted in place.
func newLeader(r failover.Round) string {
	switch {
	case r.NewHolder == "":
		return "nobody"
	case r.NewHolder == r.OldHolder:
		return r.NewHolder + " (restarted in place)"
	}
	return r.NewHolder
}

// splitBrainCheck is the split-brain oracle's verdict over the rounds.
func splitBrainCheck(rep *failover.Report) verify.Check {
	c := verify.Check{ID: CheckFailoverSplitBrain, Passed: true}
	oracle, writes, split := "", 0, []string{}
	for _, r := range rep.Rounds {
		oracle = r.Oracle
		writes += r.ControllerWrites
		if r.SplitBrain() {
			c.Passed = false
		}
		for _, w := range r.SplitBrainWrites {
			split = append(split, fmt.Sprintf("round %d: %s", r.Number, w.Message))
		}
		for _, o := range r.Overlaps {
			if r.Oracle != failover.OracleAudit && o.SplitBrain() {
				split = append(split, fmt.Sprintf("round %d: %s and %s both led for %s", r.Number, o.Identities[0], o.Identities[1], o.Duration))
			}
		}
		if r.Oracle != failover.OracleAudit {
			for _, a := range r.StaleActivity {
				split = append(split, fmt.Sprintf("round %d: %s logged %q while %s held the Lease", r.Number, a.Identity, a.Msg, a.Holder))
			}
		}
	}
	switch {
	case len(rep.Rounds) == 0:
		c.Passed, c.Message = false, "no round ran"
	case oracle == failover.OracleAudit:
		c.Message = fmt.Sprintf("audit log: %d controller writes in %d rounds, %d outside their writer's leadership or concurrent", writes, len(rep.Rounds), len(split))
	default:
		c.Message = fmt.Sprintf("%s: %d spans of two leaders or writes by a non-holder in %d rounds", oracle, len(split), len(rep.Rounds))
	}
	if len(split) > 0 {
		c.Message += "; " + strings.Join(split, "; ")
	}
	return c
}
