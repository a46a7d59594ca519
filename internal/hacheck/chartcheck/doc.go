// Package chartcheck is what `hacheck check` does: render a chart with the
// Helm SDK, read its .hacheck.yaml (expectations, rule settings,
// dialects), judge the output with the static HA rules of
// internal/hacheck/invariants, and run a matrix of value sets. The CLI
// and pkg/hacheck's CheckChart both call it, so the two front doors give
// the same verdicts.
//
// It renders and judges only: it installs nothing and starts no cluster
// (internal/hacheck/action orchestrates verify and doctor), so importing it
// stays light for a chart author's test suite.
package chartcheck
