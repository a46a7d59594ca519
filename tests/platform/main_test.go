//go:build unix

// Package platform is the end-to-end suite of the Primus binary: three
// replicas of cmd/primus run as local processes against the embedded
// Kubernetes cluster (or the cluster of $PRIMUS_TEST_KUBECONFIG) with the
// chart's RBAC, and the suite checks leader election, failover, graceful
// handover, authentication and the Project controller through the API.
// The processes run under internal/hacheck/replica, the harness the failover
// measurement and the chaos suite share.
//
// It is skipped with -short.
package platform

import (
	"os"
	"testing"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/testharness/clustertest"
)

var (
	// testCluster is shared by the package's tests; they isolate by namespace.
	testCluster *cluster.Cluster
	// primusBin is cmd/primus built once for the suite.
	primusBin string
)

func TestMain(m *testing.M) {
	os.Exit(clustertest.MainWithPrimus(m, "platform-suite", &testCluster, &primusBin))
}

// requireCluster skips a test in -short mode.
func requireCluster(t *testing.T) {
	t.Helper()
	clustertest.Require(t, testCluster)
}
