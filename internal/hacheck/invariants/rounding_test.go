package invariants

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestAllowedDisruptions(t *testing.T) {
	tests := []struct {
		name           string
		minAvailable   *intstr.IntOrString
		maxUnavailable *intstr.IntOrString
		replicas       int
		want           int
		wantErr        bool
	}{
		{name: "minAvailable 50% of 3 rounds up to 2", minAvailable: pct("50%"), replicas: 3, want: 1},
		{name: "minAvailable 100% of 3", minAvailable: pct("100%"), replicas: 3, want: 0},
		{name: "minAvailable 2 of 3", minAvailable: num(2), replicas: 3, want: 1},
		{name: "minAvailable 5 of 3 never negative", minAvailable: num(5), replicas: 3, want: 0},
		{name: "maxUnavailable 34% of 3 rounds 1.02 up to 2", maxUnavailable: pct("34%"), replicas: 3, want: 2},
		{name: "maxUnavailable 25% of 3 rounds 0.75 up to 1", maxUnavailable: pct("25%"), replicas: 3, want: 1},
		{name: "maxUnavailable 0% of 3", maxUnavailable: pct("0%"), replicas: 3, want: 0},
		{name: "maxUnavailable 1 of 3", maxUnavailable: num(1), replicas: 3, want: 1},
		{name: "maxUnavailable 5 of 3 capped at 3", maxUnavailable: num(5), replicas: 3, want: 3},
		{name: "neither set allows none", replicas: 3, want: 0},
		{name: "malformed percentage", maxUnavailable: pct("half"), replicas: 3, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &policyv1.PodDisruptionBudget{Spec: policyv1.PodDisruptionBudgetSpec{
				MinAvailable: tc.minAvailable, MaxUnavailable: tc.maxUnavailable}}
			got, err := allowedDisruptions(p, tc.replicas)
			if tc.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestMaxUnavailable(t *testing.T) {
	tests := []struct {
		name           string
		strategy       appsv1.DeploymentStrategy
		replicas       int
		want           int
		wantErrMessage string
	}{
		{name: "maxUnavailable 50% of 3 rounds 1.5 down to 1", strategy: rolling(pct("25%"), pct("50%")), replicas: 3, want: 1},
		{name: "maxUnavailable 50% of 4", strategy: rolling(pct("25%"), pct("50%")), replicas: 4, want: 2},
		{name: "both 0 fall back to 1", strategy: rolling(num(0), num(0)), replicas: 3, want: 1},
		{name: "both round down to 0 fall back to 1", strategy: rolling(pct("0%"), pct("10%")), replicas: 3, want: 1},
		{name: "maxSurge 1 keeps maxUnavailable 0", strategy: rolling(num(1), num(0)), replicas: 3, want: 0},
		{name: "defaults 25% of 3 round down to 0", strategy: appsv1.DeploymentStrategy{}, replicas: 3, want: 0},
		{name: "defaults 25% of 8", strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType}, replicas: 8, want: 2},
		{name: "malformed maxUnavailable", strategy: rolling(num(1), pct("a lot")), replicas: 3, wantErrMessage: "maxUnavailable"},
		{name: "malformed maxSurge", strategy: rolling(pct("x%"), num(0)), replicas: 3, wantErrMessage: "maxSurge"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Strategy: tc.strategy}}
			got, err := maxUnavailable(d, tc.replicas)
			if tc.wantErrMessage != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErrMessage)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func rolling(surge, unavailable *intstr.IntOrString) appsv1.DeploymentStrategy {
	return appsv1.DeploymentStrategy{
		Type:          appsv1.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: surge, MaxUnavailable: unavailable},
	}
}

func pct(s string) *intstr.IntOrString {
	v := intstr.FromString(s)
	return &v
}

func num(i int) *intstr.IntOrString {
	v := intstr.FromInt32(int32(i))
	return &v
}
