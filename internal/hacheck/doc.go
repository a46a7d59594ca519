// Package hacheck groups the internals of the hacheck CLI (tools/hacheck):
// action (one function per verb) over small libraries that render a chart
// (render), validate values (schema), check static HA rules (invariants),
// install a release (install), run an embedded cluster (cluster), run real
// primus processes (replica, podrunner), check a live release (verify) and
// measure failovers (failover). The public, importable surface for chart
// authors is pkg/hacheck; nothing here is stable.
package hacheck
