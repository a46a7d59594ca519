// Package install holds the install suites: the chart installed, upgraded
// and downgraded with the helm CLI (terratest's helm module) on the embedded
// Kubernetes cluster, or on the cluster of $PRIMUS_TEST_KUBECONFIG, with
// assertions on what the API server and controllers really did.
package install

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"primus.dev/primus/internal/cluster"
)

// testCluster is shared by every test of the package; tests isolate by
// namespace.
var testCluster *cluster.Cluster

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("install suites skipped in -short mode")
		os.Exit(0)
	}
	os.Exit(runWithCluster(m))
}

func runWithCluster(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	bins, err := cluster.EnsureBinaries(ctx, cluster.BinaryOptions{Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "embedded cluster binaries:", err)
		return 1
	}
	// terratest's helm module runs `helm` from PATH.
	os.Setenv("PATH", bins.Dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	c, err := cluster.StartOrConnect(ctx, "", cluster.Options{Name: "install-suite", Binaries: &bins, Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "start cluster:", err)
		return 1
	}
	defer func() {
		stopCtx, stop := context.WithTimeout(context.Background(), time.Minute)
		defer stop()
		if err := c.Stop(stopCtx); err != nil {
			fmt.Fprintln(os.Stderr, "stop cluster:", err)
		}
	}()
	testCluster = c
	return m.Run()
}

// chartPath is charts/primus, found from this file.
func chartPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "charts", "primus")
}
