// Package repository holds the chart distribution suite: the chart packaged
// and signed by ci/package.sh (the release workflow's script), served from a
// local HTTPS chart repository and pushed to a local OCI registry, then
// installed and upgraded to HA with the commands README.md gives users, on
// the embedded Kubernetes cluster (or the cluster of
// $PRIMUS_TEST_KUBECONFIG), with the live HA invariants of `hacheck verify`
// checked after each upgrade.
package repository

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/testharness/clustertest"
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
	var err error
	if workDir, err = os.MkdirTemp("", "primus-repository-suite-"); err != nil {
		fmt.Fprintln(os.Stderr, "work dir:", err)
		os.Exit(1)
	}
	// helm keeps repository caches, registry credentials and plugins under
	// these; the suite must neither read nor change the developer's.
	for _, v := range []string{"HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"} {
		os.Setenv(v, filepath.Join(workDir, "helm", v))
	}
	// clustertest puts helm on PATH for ci/package.sh and terratest.
	code := clustertest.Main(m, "repo-suite", &testCluster)
	os.RemoveAll(workDir)
	os.Exit(code)
}

// repoRoot is the repository's root, found from this file.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// chartPath is charts/primus.
func chartPath() string { return filepath.Join(repoRoot(), "charts", "primus") }
