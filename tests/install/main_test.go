// Package install holds the install suites: the chart installed, upgraded
// and downgraded with the helm CLI (terratest's helm module) on the embedded
// Kubernetes cluster, or on the cluster of $PRIMUS_TEST_KUBECONFIG, with
// assertions on what the API server and controllers really did.
package install

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/testharness/clustertest"
)

// testCluster is shared by every test of the package; tests isolate by
// namespace.
var testCluster *cluster.Cluster

func TestMain(m *testing.M) {
	os.Exit(clustertest.Main(m, "install-suite", &testCluster))
}

// chartPath is charts/primus, found from this file.
func chartPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "charts", "primus")
}
