package chartcheck

import (
	"fmt"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/primus-dev/primus/internal/hacheck/invariants"
	"github.com/primus-dev/primus/internal/hacheck/render"
)

// CheckOptions are what to render and how to judge it.
type CheckOptions struct {
	render.Options
	// Config is the .hacheck.yaml in force (LoadConfig); nil is none.
	Config *Config
	// Expect are --expect NAME=N replica counts; they win over the config's.
	Expect map[string]int
	// Replicas, when above 0, is the replica count asked of every
	// Deployment and StatefulSet (pkg/hacheck's WithReplicas), over the
	// config's and Expect's counts.
	Replicas int
	// FailOn is the least severity that fails the check: error, warning
	// (the default, when empty), info, or none.
	FailOn invariants.Severity
	// Against, when set, renders the installed revision (its chart and
	// values) so the upgrade rules compare it with the next one.
	Against *render.Options
}

// CheckResult is the outcome of checking one value set.
type CheckResult struct {
	// Name names the case (a matrix case name, or "default").
	Name string `json:"name"`
	// Replicas is the replica count asked of every workload (matrices,
	// tests); 0 when none, or when only single workloads were asked for.
	Replicas int `json:"replicas"`
	// Expect are the replica counts asked of single workloads.
	Expect map[string]int `json:"expect,omitempty"`
	// Objects counts the rendered objects.
	Objects int `json:"objects"`
	// FailOn is the least severity that fails the check.
	FailOn invariants.Severity `json:"failOn"`
	// Findings are the broken invariants (suppressed ones marked); empty
	// when all hold.
	Findings []invariants.Finding `json:"findings"`
	// Rules lists every rule with whether it held.
	Rules []RuleResult `json:"rules"`
	// Workloads are the workloads judged, with their leader election.
	Workloads []*invariants.Workload `json:"workloads"`
	// Ignored names the objects no rule judges (Jobs, CronJobs), with why.
	Ignored []string `json:"ignored,omitempty"`
	// Error is set when the chart could not be rendered (bad values).
	Error string `json:"error,omitempty"`
}

// RuleResult is one rule's verdict.
type RuleResult struct {
	ID       string              `json:"id"`
	Severity invariants.Severity `json:"severity"`
	Passed   bool                `json:"passed"`
	Disabled bool                `json:"disabled,omitempty"`
}

// Failing are the findings that fail the check: not suppressed, and at
// least as severe as FailOn.
func (r *CheckResult) Failing() []invariants.Finding {
	var out []invariants.Finding
	for _, f := range r.Findings {
		if f.Suppressed == "" && r.FailOn != "none" && f.Severity.Rank() >= r.FailOn.Rank() {
			out = append(out, f)
		}
	}
	return out
}

// Passed reports whether the case rendered and no finding fails it.
func (r *CheckResult) Passed() bool { return r.Error == "" && len(r.Failing()) == 0 }

// Check renders the chart with opts and checks every invariant.
func Check(opts CheckOptions) (*CheckResult, error) {
	ch, err := render.LoadChart(opts.Chart)
	if err != nil {
		return nil, err
	}
	return checkChart(ch, opts, "default")
}

func checkChart(ch *chart.Chart, opts CheckOptions, name string) (*CheckResult, error) {
	res, err := render.RenderChart(ch, opts.Options)
	if err != nil {
		return nil, err
	}
	cfg := opts.Config
	if cfg == nil {
		cfg = &Config{}
	}
	coalesced, err := chartutil.CoalesceValues(ch, render.CopyValues(res.Values))
	if err != nil {
		return nil, &render.InputError{Err: fmt.Errorf("values: %w", err)}
	}
	exp, err := cfg.expectation(opts.Expect, coalesced.AsMap())
	if err != nil {
		return nil, err
	}
	exp.Replicas = opts.Replicas
	exp.Namespace = opts.Namespace
	if exp.Namespace == "" {
		exp.Namespace = render.DefaultNamespace
	}
	var report *invariants.Report
	if opts.Against != nil {
		report, err = checkUpgrade(*opts.Against, res.Objects, exp)
	} else {
		report, err = invariants.Analyze(res.Objects, exp)
	}
	if err != nil {
		if render.IsInputError(err) {
			return nil, err
		}
		return nil, fmt.Errorf("check %s: %w", name, err)
	}
	failOn := opts.FailOn
	if failOn == "" && cfg.FailOn != "" {
		failOn, _ = ParseFailOn(cfg.FailOn)
	}
	if failOn == "" {
		failOn = invariants.SeverityWarning
	}
	out := &CheckResult{Name: name, Objects: len(res.Objects), FailOn: failOn, Findings: report.Findings,
		Workloads: report.Workloads, Ignored: report.Ignored}
	if len(exp.Workloads) > 0 {
		out.Expect = exp.Workloads
		if len(exp.Workloads) == 1 {
			for _, n := range exp.Workloads {
				out.Replicas = n
			}
		}
	}
	failed := map[string]bool{}
	for _, f := range out.Failing() {
		failed[f.Rule] = true
	}
	for _, r := range invariants.Rules() {
		if r.Upgrade && opts.Against == nil {
			continue // runs only with --against
		}
		sev := r.Severity
		if s := exp.Rules[r.ID].Severity; s != "" {
			sev = s
		}
		out.Rules = append(out.Rules, RuleResult{ID: r.ID, Severity: sev, Passed: !failed[r.ID], Disabled: exp.Rules[r.ID].Disabled})
	}
	return out, nil
}

// checkUpgrade renders the installed revision and compares it with next.
func checkUpgrade(installed render.Options, next []render.Object, exp invariants.Expectation) (*invariants.Report, error) {
	old, err := render.Render(installed)
	if err != nil {
		if render.IsInputError(err) {
			return nil, &render.InputError{Err: fmt.Errorf("--against %s: %w", installed.Chart, err)}
		}
		return nil, err
	}
	return invariants.AnalyzeUpgrade(old.Objects, next, exp)
}
