//go:build unix

// Package platform is the end-to-end suite of the Primus binary: three
// replicas of cmd/primus run as local processes against the embedded
// Kubernetes cluster (or the cluster of $PRIMUS_TEST_KUBECONFIG) with the
// chart's RBAC, and the suite checks leader election, failover, graceful
// handover, authentication and the Project controller through the API.
//
// It is skipped with -short.
package platform

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"primus.dev/primus/internal/cluster"
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
	if primusBin, err = buildPrimus(ctx, dir); err != nil {
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

// repoRoot is the repository root, found from this file.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// buildPrimus compiles cmd/primus into dir.
func buildPrimus(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "primus")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/primus")
	cmd.Dir = repoRoot()
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build cmd/primus: %w", err)
	}
	return bin, nil
}
