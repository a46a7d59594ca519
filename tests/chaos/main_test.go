//go:build unix

// Package chaos is the failure-injection suite of the Primus binary: it
// runs replicas of cmd/primus as local processes (internal/hacheck/replica) on one
// embedded Kubernetes cluster shared by the package (or the cluster of
// $PRIMUS_TEST_KUBECONFIG), isolates each test in its own namespace, and
// breaks things: the leader killed, stopped or frozen round after round
// (internal/hacheck/failover), the API server frozen for longer than the renew
// deadline. The checks are the platform's promises: never two leaders at
// once, no Project lost or applied twice, exactly one leader once the
// failure is over.
//
// It is skipped with -short. The default variant runs 3 rounds per
// failover mode; -chaos.rounds=20 (or PRIMUS_CHAOS_ROUNDS=20) is the long
// one.
package chaos

import (
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/testharness/clustertest"
)

var (
	// testCluster is shared by the package's tests; they isolate by
	// namespace and clean up after themselves.
	testCluster *cluster.Cluster
	// primusBin is cmd/primus built once for the package.
	primusBin string

	roundsFlag = flag.Int("chaos.rounds", 0, "failover rounds per mode (default 3, or $PRIMUS_CHAOS_ROUNDS)")
)

// roundsEnv names the environment variable that sets the rounds per mode
// when -chaos.rounds is not given.
const roundsEnv = "PRIMUS_CHAOS_ROUNDS"

// fastTimings are the fastest lease timings the chart allows and the
// project recommends: they keep the default variant of the suite short.
var fastTimings = []string{
	"leaderElection.leaseDuration=4s", "leaderElection.renewDeadline=3s", "leaderElection.retryPeriod=1s",
}

func TestMain(m *testing.M) {
	os.Exit(clustertest.MainWithPrimus(m, "chaos-suite", &testCluster, &primusBin))
}

// requireCluster skips a test in -short mode.
func requireCluster(t *testing.T) {
	t.Helper()
	clustertest.Require(t, testCluster)
}

// rounds is the number of failover rounds per mode: -chaos.rounds, else
// $PRIMUS_CHAOS_ROUNDS, else 3.
func rounds(t *testing.T) int {
	t.Helper()
	if *roundsFlag > 0 {
		return *roundsFlag
	}
	if s := os.Getenv(roundsEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("$%s=%q: want a positive number", roundsEnv, s)
		}
		return n
	}
	return 3
}

// chartPath is charts/primus, found from this file.
func chartPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "charts", "primus")
}
