package schema

import "strings"

// Violation is one rule that one value breaks.
type Violation struct {
	// Key is the path of the offending value, dotted, with array indexes in
	// brackets and unusual keys quoted: "leaderElection.leaseDuration",
	// "tolerations[0].key", `nodeSelector["kubernetes.io/os"]`. It is empty
	// when the values document as a whole breaks the rule.
	Key string
	// Message is the rule, short and for humans: "must be >= 1, got 0".
	Message string
}

// String returns the violation as one line, "key: message"; the key of the
// whole document prints as "(root)".
func (v Violation) String() string {
	key := v.Key
	if key == "" {
		key = "(root)"
	}
	return key + ": " + v.Message
}

// ValidationError is returned when values break the schema. Callers print
// Violations one a line, or the error itself, which does just that.
type ValidationError struct {
	// Violations lists every broken rule, sorted by key then message.
	Violations []Violation
}

// Error returns one line per violation.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		lines[i] = v.String()
	}
	return strings.Join(lines, "\n")
}
