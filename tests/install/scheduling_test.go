package install

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/primus-dev/primus/internal/hacheck/action"
	"github.com/primus-dev/primus/internal/hacheck/render"
	"github.com/primus-dev/primus/internal/hacheck/verify"
	"github.com/primus-dev/primus/internal/testharness/clustertest"
)

// poolLabel marks the nodes of a smaller pool inside the shared cluster.
const poolLabel = "primus.dev/test-pool"

// labelNodes puts the first n nodes in a pool for the test and takes them
// out again on cleanup.
func labelNodes(t *testing.T, pool string, n int) {
	t.Helper()
	nodes := testCluster.NodeNames()
	require.GreaterOrEqual(t, len(nodes), n)
	for _, name := range nodes[:n] {
		patch := []byte(`{"metadata":{"labels":{"` + poolLabel + `":"` + pool + `"}}}`)
		_, err := testCluster.Clientset().CoreV1().Nodes().Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{})
		require.NoError(t, err)
		t.Cleanup(func() {
			undo := []byte(`{"metadata":{"labels":{"` + poolLabel + `":null}}}`)
			_, _ = testCluster.Clientset().CoreV1().Nodes().Patch(context.Background(), name, types.MergePatchType, undo, metav1.PatchOptions{})
		})
	}
}

// TestAntiAffinityOnTwoNodes runs `hacheck verify --kubeconfig` (the same
// action) with three replicas confined to two nodes.
func TestAntiAffinityOnTwoNodes(t *testing.T) {
	clustertest.Require(t, testCluster)
	labelNodes(t, "two", 2)
	cases := []struct {
		name        string
		mode        string
		wantPassed  bool
		wantRunning int
		wantReason  string
	}{
		{name: "hard leaves the third pod Pending and says why", mode: "hard", wantPassed: false, wantRunning: 2, wantReason: "didn't match pod anti-affinity rules"},
		{name: "soft places all three", mode: "soft", wantPassed: true, wantRunning: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRelease(t, nil)
			res, err := action.Verify(context.Background(), action.VerifyOptions{
				Kubeconfig: testCluster.Kubeconfig(),
				Render: render.Options{Chart: chartPath(), ReleaseName: r.name, Namespace: r.namespace, Set: []string{
					"replicaCount=3", "podAntiAffinity=" + tc.mode, "nodeSelector." + escapeKey(poolLabel) + "=two",
				}},
			})
			require.NoError(t, err)
			rep := res.Report
			// kwok runs nothing for these Pods (no podrunner here), so the
			// leadership checks fail, as they must without a leader: this
			// test is about scheduling.
			assert.Equal(t, tc.wantPassed, passedExcept(rep, verify.LeadershipChecks...), "checks: %+v", rep.Checks)
			assert.False(t, check(t, rep, verify.CheckLeader).Passed, "no process, no leader")
			running := 0
			for _, p := range rep.Pods {
				if p.Phase == "Running" {
					running++
				} else {
					assert.Contains(t, p.Reason, tc.wantReason)
				}
			}
			assert.Equal(t, tc.wantRunning, running)
			ready := check(t, rep, "replicas-ready")
			if tc.wantReason != "" {
				assert.Contains(t, ready.Message, tc.wantReason, "verify says why the replica is not Running")
			}
		})
	}
}

// passedExcept reports whether every check but those with the given ids
// passed.
func passedExcept(rep *verify.Report, ids ...string) bool {
	for _, c := range rep.Checks {
		if !c.Passed && !slices.Contains(ids, c.ID) {
			return false
		}
	}
	return len(rep.Checks) > 0
}

func check(t *testing.T, rep *verify.Report, id string) verify.Check {
	t.Helper()
	for _, c := range rep.Checks {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no check %s in %+v", id, rep.Checks)
	return verify.Check{}
}

// escapeKey escapes the dots of a label key for --set.
func escapeKey(k string) string {
	out := ""
	for _, c := range k {
		if c == '.' {
			out += `\`
		}
		out += string(c)
	}
	return out
}

// TestHardAntiAffinityRollout: with one replica per node on a cluster of
// exactly replicaCount nodes, a rolling update still completes, because the
// anti-affinity only separates pods of the same revision (matchLabelKeys
// pod-template-hash); the surge pod may share a node with an old one.
func TestHardAntiAffinityRollout(t *testing.T) {
	r := newRelease(t, nil)
	nodes := len(testCluster.NodeNames())
	r.install(map[string]string{"replicaCount": fmt.Sprint(nodes), "podAntiAffinity": "hard"})
	before := r.waitRollout(nodes)
	require.NoError(t, r.upgradeReuse(map[string]string{"podAnnotations.restartedAt": "now"}))
	after := r.waitRollout(nodes)
	assert.Len(t, nodesOf(after), nodes, "one replica per node after the rollout: %s", describe(after))
	for _, p := range before {
		for _, q := range after {
			assert.NotEqual(t, p.Name, q.Name, "every pod was replaced by the rollout")
		}
	}
}
