// Package action holds what hacheck does on a cluster, one function per
// command: verify a chart on the embedded (or a named) cluster (with
// --failover, through package failover's rounds), and doctor an installed
// release read-only. The CLI in tools/hacheck only parses
// flags and prints what these return. The static check (`hacheck check`)
// is internal/hacheck/chartcheck.
package action
