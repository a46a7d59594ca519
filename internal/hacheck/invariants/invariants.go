// Package invariants checks the high-availability invariants of rendered
// Kubernetes manifests: replicas, leader election and its Lease RBAC, spread,
// PodDisruptionBudget, rollout, Service and probe wiring, Pod Security.
//
// Rules read any chart's output, not only Primus': Deployments,
// StatefulSets, DaemonSets and the HPAs that scale them; leader election in
// every dialect of the well-known controllers (flags, environment,
// ConfigMap references) and, when nothing is set, the defaults of their
// binaries (the controller table); RBAC as the API server evaluates it.
// The package does not render charts (see package render) and does not talk
// to a cluster (see package verify).
package invariants

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/primus-dev/primus/internal/hacheck/render"
)

// Severity ranks a finding.
type Severity string

const (
	// SeverityError breaks HA or the election.
	SeverityError Severity = "error"
	// SeverityWarning is least privilege or hardening.
	SeverityWarning Severity = "warning"
	// SeverityInfo is worth knowing and breaks nothing by itself.
	SeverityInfo Severity = "info"
)

// Rank orders severities: error 3, warning 2, info 1, anything else 0.
func (s Severity) Rank() int {
	switch s {
	case SeverityError:
		return 3
	case SeverityWarning:
		return 2
	case SeverityInfo:
		return 1
	}
	return 0
}

// ParseSeverity reads error, warning or info.
func ParseSeverity(s string) (Severity, error) {
	if sev := Severity(strings.ToLower(s)); sev.Rank() > 0 {
		return sev, nil
	}
	return "", fmt.Errorf("severity %q: want error, warning or info", s)
}

// Finding is one broken invariant.
type Finding struct {
	// Rule is the id of the rule that found it, e.g. "pdb-present".
	Rule string `json:"rule"`
	// Severity is the rule's (or the config's override).
	Severity Severity `json:"severity"`
	// Object is the object at fault, as Kind/namespace/name.
	Object string `json:"object"`
	// Message says what is wrong and what to do, for a human.
	Message string `json:"message"`
	// Source is the chart template that rendered Object, when known.
	Source string `json:"source,omitempty"`
	// Suppressed is the reason given by the object's
	// ignore.hacheck.primus.dev/<rule> annotation; a suppressed finding
	// never fails a check.
	Suppressed string `json:"suppressed,omitempty"`
}

// Expectation is what the user stated, when the manifest alone cannot say.
type Expectation struct {
	// Replicas is the replica count asked of every Deployment and
	// StatefulSet; 0 means "whatever the workload says".
	Replicas int
	// Workloads asks replica counts of single workloads, by name,
	// Kind/name or Kind/namespace/name, each a path.Match pattern
	// (hacheck check --expect NAME=N).
	Workloads map[string]int
	// Dialects and Controllers extend the built-in leader-election
	// dialects and controller table (the config file's).
	Dialects    []Dialect
	Controllers []Controller
	// Rules turns rules off or overrides their severity, by rule id.
	Rules map[string]RuleSetting
	// Namespace is the release namespace: Helm creates there the
	// namespaced objects a chart renders without one (flux2's charts name
	// none). Empty means DefaultNamespace.
	Namespace string
}

// RuleSetting configures one rule.
type RuleSetting struct {
	// Disabled turns the rule off.
	Disabled bool `json:"disabled,omitempty"`
	// Severity, when set, replaces the severity of the rule's findings.
	Severity Severity `json:"severity,omitempty"`
}

// Rule is one invariant.
type Rule struct {
	// ID names the rule in findings and reports; ids are never renamed.
	ID string
	// Severity is the severity of its findings unless the rule says otherwise.
	Severity Severity
	// Description says in one sentence what holds when the rule passes.
	Description string
	// Why says what breaks when it does not hold; Fix how to make it hold.
	Why, Fix string
	// Upgrade is true for the rules that compare the installed revision
	// with the next (hacheck check --against).
	Upgrade bool
	check   func(c *checker) []Finding
	upgrade func(u *upgrade) []Finding
}

// Report is everything one check found out.
type Report struct {
	// Findings are the broken invariants, suppressed ones included.
	Findings []Finding `json:"findings"`
	// Workloads are the workloads judged, with their leader election.
	Workloads []*Workload `json:"workloads"`
	// Ignored names the objects no rule judges, with why.
	Ignored []string `json:"ignored,omitempty"`
}

// checker is what a rule reads: the manifest, what the user stated and the
// rendered RBAC.
type checker struct {
	m    *Manifest
	exp  Expectation
	rbac *authorizer
}

// Check runs every enabled rule on the objects and returns the findings,
// sorted by rule order then object.
func Check(objs []render.Object, exp Expectation) ([]Finding, error) {
	rep, err := Analyze(objs, exp)
	if err != nil {
		return nil, err
	}
	return rep.Findings, nil
}

// Analyze is Check with what it learned about the workloads.
func Analyze(objs []render.Object, exp Expectation) (*Report, error) {
	m, err := newManifest(objs, exp)
	if err != nil {
		return nil, err
	}
	c := &checker{m: m, exp: exp, rbac: newAuthorizer(m)}
	rep := &Report{Workloads: m.Workloads, Ignored: m.Ignored, Findings: []Finding{}}
	for _, r := range Rules() {
		setting := exp.Rules[r.ID]
		if setting.Disabled || r.check == nil {
			continue
		}
		fs := finish(r, setting, r.check(c), m.meta)
		rep.Findings = append(rep.Findings, fs...)
	}
	rep.Findings = append(rep.Findings, c.badSuppressions()...)
	return rep, nil
}

// finish sorts a rule's findings by object and fills in what every finding
// carries: the rule id, the severity (the finding's, else the rule's; the
// config's override wins), the template, and the suppression reason of the
// object's annotation. metas are looked up in order (the next revision's
// objects, then the installed one's).
func finish(r Rule, setting RuleSetting, fs []Finding, metas ...map[string]objectMeta) []Finding {
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Object < fs[j].Object })
	for i := range fs {
		f := &fs[i]
		f.Rule = r.ID
		if f.Severity == "" {
			f.Severity = r.Severity
		}
		if setting.Severity != "" {
			f.Severity = setting.Severity
		}
		var meta objectMeta
		for _, m := range metas {
			if found, ok := m[f.Object]; ok {
				meta = found
				break
			}
		}
		f.Source = meta.source
		if reason := strings.TrimSpace(meta.annotations[SuppressAnnotation+r.ID]); reason != "" {
			f.Suppressed = reason
		}
	}
	return fs
}

// SuppressAnnotation prefixes the annotation that suppresses a rule's
// findings on one object: ignore.hacheck.primus.dev/<rule-id>: "<reason>".
// The reason is required.
const SuppressAnnotation = "ignore.hacheck.primus.dev/"

// badSuppressions reports suppression annotations without a reason or
// naming no rule: they suppress nothing.
func (c *checker) badSuppressions() []Finding {
	ids := map[string]bool{}
	for _, r := range Rules() {
		ids[r.ID] = true
	}
	var refs []string
	for r := range c.m.meta {
		refs = append(refs, r)
	}
	sort.Strings(refs)
	var out []Finding
	for _, obj := range refs {
		meta := c.m.meta[obj]
		var keys []string
		for k := range meta.annotations {
			if strings.HasPrefix(k, SuppressAnnotation) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			id := strings.TrimPrefix(k, SuppressAnnotation)
			switch {
			case !ids[id]:
				out = append(out, Finding{Rule: "suppression", Severity: SeverityWarning, Object: obj, Source: meta.source,
					Message: fmt.Sprintf("annotation %s names no rule; see hacheck's rule table for the ids", k)})
			case strings.TrimSpace(meta.annotations[k]) == "":
				out = append(out, Finding{Rule: "suppression", Severity: SeverityWarning, Object: obj, Source: meta.source,
					Message: fmt.Sprintf("annotation %s has no reason, so it suppresses nothing; say why the rule does not apply", k)})
			}
		}
	}
	return out
}

// expectedReplicas is the replica count the user asked of a workload, 0
// when none. Of several matching patterns the most specific wins: a literal
// name over a glob, then the longer pattern.
func (c *checker) expectedReplicas(w *Workload) int {
	if w.PerNode() {
		return 0
	}
	best, bestScore := c.exp.Replicas, -1
	for k, n := range c.exp.Workloads {
		score := len(k)
		if !strings.ContainsAny(k, "*?[") {
			score += 1000
		}
		if matchesWorkload(k, w) && (score > bestScore || score == bestScore && n > best) {
			best, bestScore = n, score
		}
	}
	return best
}

// matchesWorkload reports whether a pattern names the workload by name,
// Kind/name or Kind/namespace/name.
func matchesWorkload(pattern string, w *Workload) bool {
	for _, name := range []string{w.Name, w.Kind + "/" + w.Name, w.Kind + "/" + w.Namespace + "/" + w.Name} {
		if ok, _ := path.Match(pattern, name); ok {
			return true
		}
	}
	return false
}
