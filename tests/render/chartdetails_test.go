package render

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart/loader"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/primus-dev/primus/internal/hacheck/render"
)

// TestAntiAffinityMatchLabelKeysByKubeVersion renders matchLabelKeys only
// where the API server honours it (Kubernetes 1.31, where the field is
// beta and on by default); on 1.29 and 1.30 it would be dropped silently.
func TestAntiAffinityMatchLabelKeysByKubeVersion(t *testing.T) {
	cases := []struct {
		name, kubeVersion, mode string
		want                    []string
	}{
		{name: "soft on 1.31", kubeVersion: "v1.31.0", mode: "soft", want: []string{"pod-template-hash"}},
		{name: "hard on 1.37", kubeVersion: "v1.37.0", mode: "hard", want: []string{"pod-template-hash"}},
		{name: "soft on 1.30", kubeVersion: "v1.30.5", mode: "soft"},
		{name: "hard on 1.29", kubeVersion: "v1.29.0", mode: "hard"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := render.Render(render.Options{Chart: chartPath(t), ReleaseName: "primus", Namespace: "primus-system",
				Set: []string{"replicaCount=3", "podAntiAffinity=" + tc.mode}, KubeVersion: tc.kubeVersion})
			require.NoError(t, err)
			aa := deployment(t, res).Spec.Template.Spec.Affinity.PodAntiAffinity
			require.NotNil(t, aa)
			var keys []string
			if tc.mode == "hard" {
				require.Len(t, aa.RequiredDuringSchedulingIgnoredDuringExecution, 1)
				keys = aa.RequiredDuringSchedulingIgnoredDuringExecution[0].MatchLabelKeys
			} else {
				require.Len(t, aa.PreferredDuringSchedulingIgnoredDuringExecution, 1)
				keys = aa.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm.MatchLabelKeys
			}
			assert.Equal(t, tc.want, keys)
		})
	}
}

func TestTmpVolumeSizeLimit(t *testing.T) {
	cases := []struct {
		name string
		set  []string
		want string
	}{
		{name: "default", want: "64Mi"},
		{name: "set", set: []string{"tmpVolume.sizeLimit=1Gi"}, want: "1Gi"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := deployment(t, renderChart(t, tc.set...))
			vols := d.Spec.Template.Spec.Volumes
			require.NotEmpty(t, vols)
			require.Equal(t, "tmp", vols[0].Name)
			require.NotNil(t, vols[0].EmptyDir)
			require.NotNil(t, vols[0].EmptyDir.SizeLimit, "an unbounded emptyDir can fill the node's disk")
			assert.True(t, resource.MustParse(tc.want).Equal(*vols[0].EmptyDir.SizeLimit))
		})
	}
	assert.Contains(t, renderErr(t, "tmpVolume.sizeLimit=lots").Error(), "tmpVolume.sizeLimit")
}

func TestChartHasAnIcon(t *testing.T) {
	ch, err := loader.Load(chartPath(t))
	require.NoError(t, err)
	assert.Regexp(t, `^https://`, ch.Metadata.Icon)
}
