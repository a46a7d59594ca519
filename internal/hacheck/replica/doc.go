// Package replica runs Primus replicas as local processes against a
// Kubernetes cluster, the way the chart would run them in pods: it builds
// cmd/primus, installs the chart's ServiceAccount, RBAC, Lease, FlowSchema and CRD,
// authenticates the processes as the chart's ServiceAccount with a
// TokenRequest token, and starts, signals, probes and reads the logs of
// each replica.
//
// It is the harness of the end-to-end suites (tests/platform, tests/chaos),
// of the failover measurement (internal/failover) and of the benchmarks. It
// does not judge anything: it runs, observes and reports what it saw.
//
// Everything it starts has an owner with a Close(ctx) error method: a
// Replica its process (group), a Set its replicas, an Installation the
// cluster objects it created, a Prober its goroutine.
package replica
