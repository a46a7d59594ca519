package hacheck

// This file is the only one that knows the internal rule engine's types: a
// change there (new fields, severities, kinds) is absorbed here.

import (
	"github.com/primus-dev/primus/internal/hacheck/invariants"
	"github.com/primus-dev/primus/internal/hacheck/verify"
)

// staticRules converts the internal rule table.
func staticRules() []Rule {
	var out []Rule
	for _, r := range invariants.Rules() {
		out = append(out, Rule{ID: r.ID, Severity: severity(r.Severity), Description: r.Description})
	}
	return out
}

// fromInvariants converts the internal findings, keeping their order.
func fromInvariants(in []invariants.Finding) []Finding {
	out := make([]Finding, 0, len(in))
	for _, f := range in {
		if f.Suppressed != "" {
			continue // the chart's ignore.hacheck.primus.dev/<rule> annotation, with its reason
		}
		out = append(out, Finding{Rule: f.Rule, Severity: severity(f.Severity), Object: f.Object, Message: f.Message})
	}
	return out
}

// severity maps the engine's error, warning and info: only an error breaks
// HA, so info is reported as a warning.
func severity(s invariants.Severity) Severity {
	if s == invariants.SeverityError {
		return SeverityError
	}
	return SeverityWarning
}

// liveRules are the checks of package verify, in the order it runs them.
func liveRules() []Rule {
	return []Rule{
		{ID: "replicas-ready", Severity: SeverityError, Live: true, Description: "Every replica is Running and Ready."},
		{ID: "spread-nodes", Severity: SeverityError, Live: true, Description: "Ready replicas run on as many distinct nodes as the eligible nodes allow."},
		{ID: "spread-zones", Severity: SeverityError, Live: true, Description: "Ready replicas run in as many distinct zones as the eligible nodes span."},
		{ID: "pdb", Severity: SeverityError, Live: true, Description: "A PodDisruptionBudget exists iff replicas > 1 and allows at least one disruption."},
		{ID: "restarts", Severity: SeverityError, Live: true, Description: "No container of the workload restarted in the last 10 minutes."},
		{ID: "image-digest", Severity: SeverityError, Live: true, Description: "The Ready replicas run one image digest (their containers' imageID), the one their spec pins if it pins one; a digest the runtime does not report is named unknown, not judged."},
		{ID: "lease", Severity: SeverityError, Live: true, Description: "The leader-election Lease exists, or the chart leaves it to the binary."},
		{ID: "rbac", Severity: SeverityError, Live: true, Description: "The API server lets the ServiceAccount get, create and update its own Lease and nothing more of the kind."},
	}
}

// fromReport converts a live report's failed checks, naming the workload.
func fromReport(rep *verify.Report) []Finding {
	out := []Finding{}
	for _, c := range rep.Failed() {
		out = append(out, Finding{Rule: c.ID, Severity: SeverityError, Object: "Deployment/" + rep.Deployment, Message: c.Message})
	}
	return out
}
