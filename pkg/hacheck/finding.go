package hacheck

import "fmt"

// Severity says how bad a finding is.
type Severity string

const (
	// SeverityError is a broken invariant: the release is not highly
	// available as rendered. RequireHA fails on it.
	SeverityError Severity = "error"
	// SeverityWarning is a risk worth a look that does not break HA on its
	// own. RequireHA reports it but fails only with FailOnWarnings.
	SeverityWarning Severity = "warning"
)

// Finding is one broken invariant on one object.
type Finding struct {
	// Rule is the id of the rule that found it, e.g. "pdb-present"; see Rules.
	Rule string `json:"rule"`
	// Severity is SeverityError or SeverityWarning.
	Severity Severity `json:"severity"`
	// Object is the object at fault as Kind/namespace/name (Kind/name when
	// cluster-scoped), or "(manifest)" when the manifest lacks an object.
	Object string `json:"object"`
	// Message says what is wrong and what to do, for a human. Not stable.
	Message string `json:"message"`
}

// String formats the finding on one line: "[rule] Object: message".
func (f Finding) String() string {
	return fmt.Sprintf("[%s] %s: %s", f.Rule, f.Object, f.Message)
}

// Rule describes one invariant.
type Rule struct {
	// ID names the rule in findings; stable.
	ID string `json:"id"`
	// Severity is the severity of the rule's findings.
	Severity Severity `json:"severity"`
	// Description says in one sentence what holds when the rule passes.
	Description string `json:"description"`
	// Live is true for the rules VerifyRelease checks on a cluster, false
	// for the static rules CheckManifest and CheckChart apply.
	Live bool `json:"live"`
}

// Rules returns every rule, static rules first in the order findings are
// sorted, then the live rules of VerifyRelease.
func Rules() []Rule {
	return append(staticRules(), liveRules()...)
}
