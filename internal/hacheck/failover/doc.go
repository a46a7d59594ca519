// Package failover measures how Primus hands leadership over: it runs three
// replicas of the chart's Deployment as local processes (internal/replicas)
// on a cluster, takes the leader down round after round, by kill -9
// (crash), SIGTERM (graceful) or SIGSTOP and SIGCONT (pause), and records
// how long the Lease and the controllers took to move, what an API client
// saw meanwhile, and whether two replicas ever led at once.
//
// It is the action behind `hacheck failover`, the chaos suite
// (tests/chaos) and BenchmarkFailover. The rounds act through a Fleet:
// Start runs its own three processes; Attach measures an installed
// release whose Pods a podrunner runs (PodFleet: kill -9 of the leader's
// process, or its Pod deleted), which is how `hacheck verify --failover`
// reuses the same rounds, bounds and split-brain oracle. The pure parts (leadership
// intervals and their overlaps, statistics, bounds, the report) are
// separate from the part that drives processes, so they are unit tested on
// synthetic data. It does not fix anything and does not decide what a
// caller does with a failed round: Report.Passed says whether one failed.
package failover
