//go:build unix

// Package priority is the API priority and fairness suite: it runs the
// Primus leader (cmd/primus as a local process, internal/hacheck/replica)
// on an embedded cluster of its own whose kube-apiserver has small
// concurrency limits, floods the API server with Project requests as the
// platform's own ServiceAccount, and measures how the leader's Lease
// renewals fare with the chart's FlowSchema and without it.
//
// It has its own cluster because the limits would slow every other suite.
// It is skipped with -short, and on a cluster from $PRIMUS_TEST_KUBECONFIG,
// whose limits it does not know.
package priority

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/testharness/clustertest"
)

var (
	// testCluster is the suite's cluster, with apiServerFlags.
	testCluster *cluster.Cluster
	// primusBin is cmd/primus built once for the suite.
	primusBin string
)

// apiServerFlags give the kube-apiserver a total concurrency of 15 seats
// (10 read-only + 5 mutating; with priority and fairness on, the sum is
// what counts), so that a flood saturates a priority level on a 2-core
// machine without burning the CPU. APF divides them by
// nominalConcurrencyShares (sum 245 over the built-in levels):
// workload-low (100) gets ceil(15*100/245) = 7 seats, leader-election
// (10) ceil(15*10/245) = 1.
var apiServerFlags = map[string]string{
	"max-requests-inflight":          "10",
	"max-mutating-requests-inflight": "5",
}

func TestMain(m *testing.M) {
	opts := cluster.Options{Name: "priority-suite", Nodes: 1, Zones: 1, APIServerFlags: apiServerFlags}
	os.Exit(clustertest.MainWithPrimusOptions(m, opts, &testCluster, &primusBin))
}

// requireEmbedded skips t in -short mode and on a cluster the suite did
// not start with apiServerFlags.
func requireEmbedded(t *testing.T) {
	t.Helper()
	clustertest.Require(t, testCluster)
	if !testCluster.Embedded() {
		t.Skip("needs the embedded cluster with small API server concurrency limits")
	}
}

// chartPath is charts/primus, found from this file.
func chartPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "charts", "primus")
}
