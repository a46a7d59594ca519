// Package clustertest gives a test package one shared cluster: the
// embedded one (or the cluster of $PRIMUS_TEST_KUBECONFIG), started in
// TestMain, with the helm CLI on PATH, and stopped after the last test. It
// is for tests only; tests isolate from each other by namespace.
package clustertest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/primus-dev/primus/internal/hacheck/audit"
	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/hacheck/replica"
)

// StartTimeout bounds building the binaries (first run) and starting the
// cluster.
const StartTimeout = 20 * time.Minute

// MainWithPrimus is Main for suites that run the platform binary: it also
// builds cmd/primus once into a temporary directory, sets *bin to its path
// and removes it after the tests.
func MainWithPrimus(m *testing.M, name string, c **cluster.Cluster, bin *string) int {
	// The suites that run the binary judge split brain from the API
	// server's audit log, and their Pods (run by a podrunner) are Ready
	// only when their process is.
	return MainWithPrimusOptions(m, cluster.Options{Name: name, Readiness: cluster.ReadyByRunner, AuditPolicy: []byte(audit.Policy)}, c, bin)
}

// MainWithPrimusOptions is MainWithPrimus with the embedded cluster's
// options, for a suite that needs a control plane unlike the others' (see
// cluster.Options.APIServerFlags).
func MainWithPrimusOptions(m *testing.M, opts cluster.Options, c **cluster.Cluster, bin *string) int {
	flag.Parse()
	if testing.Short() {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "primus-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	if *bin, err = replica.Build(ctx, dir, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return MainWithOptions(m, opts, c)
}

// Main is a test package's TestMain body: in -short mode it runs the tests
// without a cluster (cluster tests skip themselves through Require);
// otherwise it starts the cluster, sets *c, puts the helm CLI on PATH, runs
// the tests, and stops the cluster even when tests fail. It returns the
// exit code for os.Exit.
func Main(m *testing.M, name string, c **cluster.Cluster) int {
	return MainWithOptions(m, cluster.Options{Name: name}, c)
}

// MainWithOptions is Main with the embedded cluster's options (its Name
// names it; Binaries and Log are set here).
func MainWithOptions(m *testing.M, opts cluster.Options, c **cluster.Cluster) int {
	flag.Parse()
	if testing.Short() {
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	bins, err := cluster.EnsureBinaries(ctx, cluster.BinaryOptions{Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "embedded cluster binaries:", err)
		return 1
	}
	// terratest's helm module runs `helm` from PATH.
	if err := os.Setenv("PATH", bins.PATH()); err != nil {
		fmt.Fprintln(os.Stderr, "PATH:", err)
		return 1
	}
	opts.Binaries, opts.Log = &bins, os.Stderr
	started, err := cluster.StartOrConnect(ctx, "", opts)
	if err != nil && os.Getenv(cluster.KubeconfigEnv) == "" {
		// A cluster of this machine that failed to start (Start has
		// stopped what it started) gets one more try on fresh ports and a
		// fresh directory: a suite's verdict should be about Primus, not
		// about one start of the control plane on a loaded CI machine. The
		// first failure stays in the log.
		fmt.Fprintf(os.Stderr, "start cluster (first try, retrying once): %v\n", err)
		started, err = cluster.StartOrConnect(ctx, "", opts)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "start cluster:", err)
		return 1
	}
	defer func() {
		stopCtx, stop := context.WithTimeout(context.Background(), time.Minute)
		defer stop()
		if err := started.Stop(stopCtx); err != nil {
			fmt.Fprintln(os.Stderr, "stop cluster:", err)
		}
	}()
	*c = started
	return m.Run()
}

// Require skips t when the package runs without a cluster (-short).
func Require(t testing.TB, c *cluster.Cluster) {
	t.Helper()
	if c == nil {
		t.Skip("needs the embedded cluster; skipped with -short")
	}
}
