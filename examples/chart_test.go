// Package chart_test is an example of a chart author's terratest suite: it
// renders examples/ha-chart with terratest's helm.RenderTemplate and checks
// the output with Primus's public API, github.com/primus-dev/primus/pkg/hacheck.
package chart_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/gruntwork-io/terratest/modules/helm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	policyv1 "k8s.io/api/policy/v1"

	"github.com/primus-dev/primus/pkg/hacheck"
)

var chartPath, _ = filepath.Abs("ha-chart")

// TestChartIsHighlyAvailable renders the chart as a user would install it
// and requires every HA invariant to hold.
func TestChartIsHighlyAvailable(t *testing.T) {
	cases := []struct {
		name     string
		values   map[string]string
		replicas int
		wantPDBs int
	}{
		{name: "one replica, no PDB", replicas: 1, wantPDBs: 0},
		{name: "three replicas", values: map[string]string{"replicaCount": "3"}, replicas: 3, wantPDBs: 1},
		{name: "three replicas, hard anti-affinity", values: map[string]string{"replicaCount": "3", "podAntiAffinity": "hard"}, replicas: 3, wantPDBs: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := helm.RenderTemplate(t, &helm.Options{SetValues: tc.values}, chartPath, "my-operator", nil)
			hacheck.RequireHA(t, out, hacheck.WithReplicas(tc.replicas))

			pdbs, err := helm.RenderTemplateE(t, &helm.Options{SetValues: tc.values}, chartPath, "my-operator", []string{"templates/poddisruptionbudget.yaml"})
			if tc.wantPDBs == 0 {
				require.Error(t, err, "no PDB at one replica: the template renders nothing")
				return
			}
			require.NoError(t, err)
			var pdb policyv1.PodDisruptionBudget
			helm.UnmarshalK8SYaml(t, pdbs, &pdb)
			assert.Equal(t, 1, pdb.Spec.MaxUnavailable.IntValue(), "the PDB lets a drain evict one pod")
		})
	}
}

// TestHacheckCheckFindsNothing is what `hacheck check ha-chart` does,
// in-process.
func TestHacheckCheckFindsNothing(t *testing.T) {
	for _, replicas := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("%d replicas", replicas), func(t *testing.T) {
			findings, err := hacheck.CheckChart(hacheck.ChartOptions{Chart: chartPath, Set: []string{fmt.Sprintf("replicaCount=%d", replicas)}})
			require.NoError(t, err)
			assert.Empty(t, findings)
		})
	}
}

// TestLibraryRefusesBadTimings shows ha-lib's client-go timing rule failing
// the render with a message naming the key.
func TestLibraryRefusesBadTimings(t *testing.T) {
	_, err := helm.RenderTemplateE(t, &helm.Options{SetValues: map[string]string{"leaderElection.retryPeriod": "9s"}}, chartPath, "my-operator", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "leaderElection.retryPeriod: 9s must be shorter than leaderElection.renewDeadline (10s) divided by 1.2")
}

// TestFindingsAreReadable expects two replicas of a chart rendered with
// three: the suite gets one finding naming the rule and the object.
func TestFindingsAreReadable(t *testing.T) {
	out := helm.RenderTemplate(t, &helm.Options{SetValues: map[string]string{"replicaCount": "3"}}, chartPath, "my-operator", nil)
	findings, err := hacheck.CheckManifest(out, hacheck.WithReplicas(2))
	require.NoError(t, err)
	require.Len(t, findings, 1)
	assert.Equal(t, "replicas", findings[0].Rule)
	assert.Equal(t, "Deployment/default/my-operator-my-operator", findings[0].Object)
}
