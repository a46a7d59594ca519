package render

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
)

func TestAntiAffinity(t *testing.T) {
	t.Run("soft by default", func(t *testing.T) {
		d := deployment(t, renderChart(t, "replicaCount=3"))
		aa := d.Spec.Template.Spec.Affinity.PodAntiAffinity
		require.NotNil(t, aa)
		assert.Empty(t, aa.RequiredDuringSchedulingIgnoredDuringExecution)
		require.Len(t, aa.PreferredDuringSchedulingIgnoredDuringExecution, 1)
		term := aa.PreferredDuringSchedulingIgnoredDuringExecution[0]
		assert.EqualValues(t, 100, term.Weight)
		assert.Equal(t, corev1.LabelHostname, term.PodAffinityTerm.TopologyKey)
		assert.Equal(t, d.Spec.Selector.MatchLabels, term.PodAffinityTerm.LabelSelector.MatchLabels)
		assert.Equal(t, []string{"pod-template-hash"}, term.PodAffinityTerm.MatchLabelKeys, "a rollout's new pods only avoid each other")
	})
	t.Run("soft weight", func(t *testing.T) {
		d := deployment(t, renderChart(t, "podAntiAffinityWeight=40"))
		assert.EqualValues(t, 40, d.Spec.Template.Spec.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].Weight)
	})
	t.Run("hard", func(t *testing.T) {
		d := deployment(t, renderChart(t, "replicaCount=3", "podAntiAffinity=hard"))
		aa := d.Spec.Template.Spec.Affinity.PodAntiAffinity
		assert.Empty(t, aa.PreferredDuringSchedulingIgnoredDuringExecution)
		require.Len(t, aa.RequiredDuringSchedulingIgnoredDuringExecution, 1)
		term := aa.RequiredDuringSchedulingIgnoredDuringExecution[0]
		assert.Equal(t, corev1.LabelHostname, term.TopologyKey)
		assert.Equal(t, d.Spec.Selector.MatchLabels, term.LabelSelector.MatchLabels)
	})
	t.Run("override wholesale", func(t *testing.T) {
		d := deployment(t, renderChart(t, "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=pool",
			"affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists"))
		a := d.Spec.Template.Spec.Affinity
		assert.Nil(t, a.PodAntiAffinity, "an affinity override replaces the generated anti-affinity")
		require.NotNil(t, a.NodeAffinity)
		assert.Equal(t, "pool", a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Key)
	})
}

func TestTopologySpread(t *testing.T) {
	cases := []struct {
		name       string
		set        []string
		wantKey    string
		wantPolicy corev1.UnsatisfiableConstraintAction
		wantNone   bool
	}{
		{name: "zones, schedule anyway by default", wantKey: corev1.LabelTopologyZone, wantPolicy: corev1.ScheduleAnyway},
		{name: "do not schedule", set: []string{"topologySpread.whenUnsatisfiable=DoNotSchedule"}, wantKey: corev1.LabelTopologyZone, wantPolicy: corev1.DoNotSchedule},
		{name: "custom key", set: []string{"topologySpread.topologyKey=example.com/rack"}, wantKey: "example.com/rack", wantPolicy: corev1.ScheduleAnyway},
		{name: "disabled", set: []string{"topologySpread.enabled=false"}, wantNone: true},
		{name: "full list override gets the selector", set: []string{
			"topologySpreadConstraints[0].maxSkew=2", "topologySpreadConstraints[0].topologyKey=example.com/room", "topologySpreadConstraints[0].whenUnsatisfiable=DoNotSchedule",
		}, wantKey: "example.com/room", wantPolicy: corev1.DoNotSchedule},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := deployment(t, renderChart(t, append([]string{"replicaCount=3"}, tc.set...)...))
			tsc := d.Spec.Template.Spec.TopologySpreadConstraints
			if tc.wantNone {
				assert.Empty(t, tsc)
				return
			}
			require.Len(t, tsc, 1)
			assert.Equal(t, tc.wantKey, tsc[0].TopologyKey)
			assert.Equal(t, tc.wantPolicy, tsc[0].WhenUnsatisfiable)
			require.NotNil(t, tsc[0].LabelSelector)
			assert.Equal(t, d.Spec.Selector.MatchLabels, tsc[0].LabelSelector.MatchLabels)
		})
	}
}

func TestPodSecurityAndProbes(t *testing.T) {
	d := deployment(t, renderChart(t, "replicaCount=3"))
	spec := d.Spec.Template.Spec
	require.NotNil(t, spec.SecurityContext)
	assert.Equal(t, ptr(true), spec.SecurityContext.RunAsNonRoot)
	assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, spec.SecurityContext.SeccompProfile.Type)
	c := spec.Containers[0]
	require.NotNil(t, c.SecurityContext)
	assert.Equal(t, ptr(false), c.SecurityContext.AllowPrivilegeEscalation)
	assert.Equal(t, ptr(true), c.SecurityContext.ReadOnlyRootFilesystem)
	assert.Equal(t, []corev1.Capability{"ALL"}, c.SecurityContext.Capabilities.Drop)

	require.NotNil(t, c.ReadinessProbe)
	assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path, "readiness reflects the API server only")
	require.NotNil(t, c.LivenessProbe)
	assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	assert.GreaterOrEqual(t, *spec.TerminationGracePeriodSeconds, int64(15), "long enough to release the Lease")

	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			env[e.Name] = e.ValueFrom.FieldRef.FieldPath
		}
	}
	assert.Equal(t, "metadata.name", env["POD_NAME"], "the pod name is the leader identity")
	assert.Equal(t, "metadata.namespace", env["POD_NAMESPACE"])
}
