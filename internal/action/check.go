// Package action holds what hacheck does, one function per command: render a
// chart, check its HA invariants, run a matrix of value sets. The CLI in
// tools/hacheck only parses flags and prints what these return.
package action

import (
	"fmt"

	"helm.sh/helm/v3/pkg/chart"

	"primus.dev/primus/internal/invariants"
	"primus.dev/primus/internal/render"
)

// CheckResult is the outcome of checking one value set.
type CheckResult struct {
	// Name names the case (a matrix case name, or "default").
	Name string `json:"name"`
	// Replicas is the replica count the check expected.
	Replicas int `json:"replicas"`
	// Objects counts the rendered objects.
	Objects int `json:"objects"`
	// Findings are the broken invariants; empty when all hold.
	Findings []invariants.Finding `json:"findings"`
	// Rules lists every rule with whether it held.
	Rules []RuleResult `json:"rules"`
	// Error is set when the chart could not be rendered (bad values).
	Error string `json:"error,omitempty"`
}

// RuleResult is one rule's verdict.
type RuleResult struct {
	ID     string `json:"id"`
	Passed bool   `json:"passed"`
}

// Passed reports whether the case rendered and every invariant held.
func (r *CheckResult) Passed() bool { return r.Error == "" && len(r.Findings) == 0 }

// Check renders the chart with opts and checks every invariant.
func Check(opts render.Options) (*CheckResult, error) {
	ch, err := render.LoadChart(opts.Chart)
	if err != nil {
		return nil, err
	}
	return checkChart(ch, opts, "default")
}

func checkChart(ch *chart.Chart, opts render.Options, name string) (*CheckResult, error) {
	res, err := render.RenderChart(ch, opts)
	if err != nil {
		return nil, err
	}
	exp := invariants.Expectation{Replicas: askedReplicas(ch, res.Values)}
	findings, err := invariants.Check(res.Objects, exp)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", name, err)
	}
	failed := map[string]bool{}
	for _, f := range findings {
		failed[f.Rule] = true
	}
	out := &CheckResult{Name: name, Replicas: exp.Replicas, Objects: len(res.Objects), Findings: findings}
	for _, r := range invariants.Rules() {
		out.Rules = append(out.Rules, RuleResult{ID: r.ID, Passed: !failed[r.ID]})
	}
	if out.Findings == nil {
		out.Findings = []invariants.Finding{}
	}
	return out, nil
}

// askedReplicas is the replicaCount the user set, or else the chart's
// default; 0 when the chart has no replicaCount value.
func askedReplicas(ch *chart.Chart, user map[string]any) int {
	for _, vals := range []map[string]any{user, ch.Values} {
		switch n := vals["replicaCount"].(type) {
		case int:
			return n
		case int64:
			return int(n)
		case float64:
			return int(n)
		}
	}
	return 0
}
