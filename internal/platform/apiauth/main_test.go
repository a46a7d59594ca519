package apiauth_test

import (
	"os"
	"testing"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/testharness/clustertest"
)

// testCluster is the embedded cluster the package's tests share; nil with
// -short.
var testCluster *cluster.Cluster

func TestMain(m *testing.M) {
	os.Exit(clustertest.Main(m, "apiauth", &testCluster))
}
