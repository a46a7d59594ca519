package mgmtapi_test

import (
	"os"
	"testing"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/testharness/clustertest"
)

// testCluster is shared by the package's cluster tests; -short runs the
// unit tests only.
var testCluster *cluster.Cluster

func TestMain(m *testing.M) {
	os.Exit(clustertest.Main(m, "mgmtapi-suite", &testCluster))
}
