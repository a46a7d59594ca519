// Package repository holds the chart distribution suite: the chart packaged
// and signed by ci/package.sh (the release workflow's script), served from a
// local HTTPS chart repository and pushed to a local OCI registry, then
// installed and upgraded to HA with the commands README.md gives users, on
// the embedded Kubernetes cluster (or the cluster of
// $PRIMUS_TEST_KUBECONFIG), with the live HA invariants of `hacheck verify`
// checked after each upgrade.
package repository

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

var (
	// testCluster is shared by every test of the package; tests isolate by
	// namespace.
	testCluster *cluster.Cluster
	// workDir holds what the suite builds (keys, packaged charts) and
	// helm's home; it is removed when the tests end.
	workDir string
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("repository suite skipped in -short mode")
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
	// ci/package.sh and terratest's helm module run `helm` from PATH.
	os.Setenv("PATH", bins.Dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	if workDir, err = os.MkdirTemp("", "primus-repository-suite-"); err != nil {
		fmt.Fprintln(os.Stderr, "work dir:", err)
		return 1
	}
	defer os.RemoveAll(workDir)
	// helm keeps repository caches, registry credentials and plugins under
	// these; the suite must neither read nor change the developer's.
	for _, v := range []string{"HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"} {
		os.Setenv(v, filepath.Join(workDir, "helm", v))
	}

	c, err := cluster.StartOrConnect(ctx, "", cluster.Options{Name: "repo-suite", Binaries: &bins, Log: os.Stderr})
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

// repoRoot is the repository's root, found from this file.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// chartPath is charts/primus.
func chartPath() string { return filepath.Join(repoRoot(), "charts", "primus") }
