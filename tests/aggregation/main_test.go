//go:build linux

// Package aggregation is the end-to-end suite of the management API as a
// platform team uses it: the chart installed with managementAPI.enabled on
// an embedded cluster whose Pods have real addresses (cluster.Options
// PodNetwork: a network namespace per Pod, its process listening on its Pod
// IP), the APIService registered, and every request sent to the
// kube-apiserver, which authenticates the caller and proxies to a Ready
// replica through the Service's endpoints, as kubectl's requests go.
//
// It is skipped with -short, and fails at start, saying why, where the
// machine does not allow network namespaces.
package aggregation

import (
	"os"
	"testing"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/testharness/clustertest"
)

var (
	// testCluster is shared by the package's tests; they isolate by namespace.
	testCluster *cluster.Cluster
	// primusBin is cmd/primus built once for the suite.
	primusBin string
)

func TestMain(m *testing.M) {
	os.Exit(clustertest.MainWithPrimusOptions(m, cluster.Options{
		Name: "aggregation-suite", Readiness: cluster.ReadyByRunner, PodNetwork: true,
	}, &testCluster, &primusBin))
}
