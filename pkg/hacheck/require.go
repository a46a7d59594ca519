package hacheck

import (
	"strings"
	"testing"
)

// RequireHA checks a rendered manifest as CheckManifest does and fails the
// test (t.Fatal) when the manifest does not decode or a rule finds an error,
// listing every finding on its own line. Warnings are logged, and fail the
// test only with FailOnWarnings.
func RequireHA(t testing.TB, manifest string, opts ...Option) {
	t.Helper()
	findings, err := CheckManifest(manifest, opts...)
	if err != nil {
		t.Fatalf("hacheck: %v", err)
		return
	}
	failOnWarnings := newConfig(opts).failOnWarnings
	var failing, warnings []string
	for _, f := range findings {
		if f.Severity == SeverityError || failOnWarnings {
			failing = append(failing, "  "+f.String())
		} else {
			warnings = append(warnings, "  "+f.String())
		}
	}
	if len(warnings) > 0 {
		t.Logf("hacheck: %d warning(s):\n%s", len(warnings), strings.Join(warnings, "\n"))
	}
	if len(failing) > 0 {
		t.Fatalf("hacheck: the manifest is not highly available, %d finding(s):\n%s", len(failing), strings.Join(failing, "\n"))
	}
}
