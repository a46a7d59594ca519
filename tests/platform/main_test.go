//go:build unix

// Package platform is the end-to-end suite of the Primus binary: three
// replicas of cmd/primus run as local processes against the embedded
// Kubernetes cluster (or the cluster of $PRIMUS_TEST_KUBECONFIG) with the
// chart's RBAC, and the suite checks leader election, failover, graceful
// handover, authentication and the Project controller through the API.
// The processes run under internal/replicas, the harness the failover
// measurement and the chaos suite share.
//
// It is skipped with -short.
package platform

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"primus.dev/primus/internal/cluster"
	"primus.dev/primus/internal/replicas"
)

var (
	// testCluster is shared by the package's tests; they isolate by namespace.
	testCluster *cluster.Cluster
	// primusBin is cmd/primus built once for the suite.
	primusBin string
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run()) // every test skips itself
	}
	os.Exit(runWithCluster(m))
}

func runWithCluster(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	dir, err := os.MkdirTemp("", "primus-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if primusBin, err = replicas.Build(ctx, dir, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	c, err := cluster.StartOrConnect(ctx, "", cluster.Options{Name: "platform-suite", Log: os.Stderr})
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

// requireCluster skips a test in -short mode.
func requireCluster(t *testing.T) {
	t.Helper()
	if testCluster == nil {
		t.Skip("needs the embedded cluster; skipped with -short")
	}
}
