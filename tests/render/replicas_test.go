package render

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/primus-dev/primus/internal/hacheck/invariants"
	"github.com/primus-dev/primus/internal/hacheck/render"
)

func TestReplicaCounts(t *testing.T) {
	cases := []struct {
		name     string
		replicas int
		wantPDB  bool
	}{
		{name: "single replica", replicas: 1, wantPDB: false},
		{name: "two replicas", replicas: 2, wantPDB: true},
		{name: "three replicas", replicas: 3, wantPDB: true},
		{name: "five replicas", replicas: 5, wantPDB: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := renderChart(t, fmt.Sprintf("replicaCount=%d", tc.replicas))
			d := deployment(t, res)

			require.NotNil(t, d.Spec.Replicas)
			assert.EqualValues(t, tc.replicas, *d.Spec.Replicas)
			assert.Equal(t, "true", argValue(t, d, "leader-elect"), "leader election is on at every replica count")

			// Zero-downtime rollouts at every count, one pod above at most.
			assert.Equal(t, appsv1.RollingUpdateDeploymentStrategyType, d.Spec.Strategy.Type)
			require.NotNil(t, d.Spec.Strategy.RollingUpdate)
			assert.Equal(t, intstr.FromInt32(1), *d.Spec.Strategy.RollingUpdate.MaxSurge)
			assert.Equal(t, intstr.FromInt32(0), *d.Spec.Strategy.RollingUpdate.MaxUnavailable)

			pdbs := render.Find(res.Objects, "PodDisruptionBudget")
			if !tc.wantPDB {
				assert.Empty(t, pdbs, "a PDB on one replica blocks every node drain")
			} else {
				pdb := only(t, res, "PodDisruptionBudget", &policyv1.PodDisruptionBudget{})
				require.NotNil(t, pdb.Spec.MaxUnavailable)
				assert.Equal(t, intstr.FromInt32(1), *pdb.Spec.MaxUnavailable)
				assert.Nil(t, pdb.Spec.MinAvailable, "never both minAvailable and maxUnavailable")
				require.NotNil(t, pdb.Spec.UnhealthyPodEvictionPolicy)
				assert.Equal(t, policyv1.AlwaysAllow, *pdb.Spec.UnhealthyPodEvictionPolicy)
				assert.Equal(t, d.Spec.Selector.MatchLabels, pdb.Spec.Selector.MatchLabels, "the PDB selects exactly the Deployment's pods")
			}

			findings, err := invariants.Check(res.Objects, invariants.Expectation{Replicas: tc.replicas})
			require.NoError(t, err)
			assert.Empty(t, findings, "every HA invariant holds")
		})
	}
}

func TestLeaderElectionOff(t *testing.T) {
	t.Run("allowed with one replica and Recreate", func(t *testing.T) {
		d := deployment(t, renderChart(t, "leaderElection.enabled=false", "strategy.type=Recreate"))
		assert.Equal(t, "false", argValue(t, d, "leader-elect"))
		assert.Equal(t, appsv1.RecreateDeploymentStrategyType, d.Spec.Strategy.Type)
		assert.Nil(t, d.Spec.Strategy.RollingUpdate)
	})
	cases := []struct {
		name string
		set  []string
		want string
	}{
		{name: "three replicas", set: []string{"replicaCount=3", "leaderElection.enabled=false"}, want: "leaderElection.enabled"},
		{name: "rolling update at one replica", set: []string{"leaderElection.enabled=false"}, want: "strategy.type=Recreate"},
	}
	for _, tc := range cases {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			assert.Contains(t, renderErr(t, tc.set...).Error(), tc.want)
		})
	}
}

func TestRenderRefusesBadValues(t *testing.T) {
	cases := []struct {
		name string
		set  []string
		want string
	}{
		{name: "zero replicas", set: []string{"replicaCount=0"}, want: "replicaCount"},
		{name: "replicas not a number", set: []string{"replicaCount=three"}, want: "replicaCount"},
		{name: "typo in a key", set: []string{"replicacount=3"}, want: "replicacount"},
		{name: "renew deadline not below lease duration", set: []string{"leaderElection.renewDeadline=20s"}, want: "leaderElection.renewDeadline"},
		{name: "lease margin below the binary's floor", set: []string{"leaderElection.leaseDuration=3500ms", "leaderElection.renewDeadline=3s", "leaderElection.retryPeriod=1s"}, want: "by at least 1s"},
		{name: "retry period not below renew deadline", set: []string{"leaderElection.retryPeriod=10s"}, want: "leaderElection.retryPeriod"},
		{name: "PDB allowing no disruption", set: []string{"replicaCount=3", "podDisruptionBudget.minAvailable=3"}, want: "podDisruptionBudget.minAvailable"},
		{name: "PDB percentage allowing no disruption", set: []string{"replicaCount=3", "podDisruptionBudget.minAvailable=100%"}, want: "podDisruptionBudget.minAvailable"},
		{name: "PDB both fields", set: []string{"replicaCount=3", "podDisruptionBudget.minAvailable=1", "podDisruptionBudget.maxUnavailable=1"}, want: "podDisruptionBudget"},
		{name: "unknown anti-affinity mode", set: []string{"podAntiAffinity=medium"}, want: "podAntiAffinity"},
		{name: "bad --set syntax", set: []string{"replicaCount"}, want: "replicaCount"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := renderErr(t, tc.set...)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "goroutine", "no stack trace")
		})
	}
}

func TestPDBSettings(t *testing.T) {
	cases := []struct {
		name        string
		set         []string
		wantMin     *intstr.IntOrString
		wantMaxUnav *intstr.IntOrString
	}{
		{name: "minAvailable integer", set: []string{"podDisruptionBudget.minAvailable=2"}, wantMin: ptr(intstr.FromInt32(2))},
		{name: "minAvailable percentage", set: []string{"podDisruptionBudget.minAvailable=50%"}, wantMin: ptr(intstr.FromString("50%"))},
		{name: "maxUnavailable percentage", set: []string{"podDisruptionBudget.maxUnavailable=34%"}, wantMaxUnav: ptr(intstr.FromString("34%"))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := renderChart(t, append([]string{"replicaCount=3"}, tc.set...)...)
			pdb := only(t, res, "PodDisruptionBudget", &policyv1.PodDisruptionBudget{})
			assert.Equal(t, tc.wantMin, pdb.Spec.MinAvailable)
			assert.Equal(t, tc.wantMaxUnav, pdb.Spec.MaxUnavailable)
		})
	}
	t.Run("disabled", func(t *testing.T) {
		res := renderChart(t, "replicaCount=3", "podDisruptionBudget.enabled=false")
		assert.Empty(t, render.Find(res.Objects, "PodDisruptionBudget"))
		findings, err := invariants.Check(res.Objects, invariants.Expectation{Replicas: 3})
		require.NoError(t, err)
		require.Len(t, findings, 1)
		assert.Equal(t, "pdb-present", findings[0].Rule)
	})
}

func ptr[T any](v T) *T { return &v }
