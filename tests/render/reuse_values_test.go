package render

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/internal/hacheck/invariants"
	"github.com/primus-dev/primus/internal/hacheck/render"
)

// TestRenderWithSectionMissing mimics `helm upgrade --reuse-values` from an
// older release whose stored values lack a key added since: the chart's
// defaults for that key are gone, and the templates must still render.
func TestRenderWithSectionMissing(t *testing.T) {
	ch, err := render.LoadChart(chartPath(t))
	require.NoError(t, err)
	keys := make([]string, 0, len(ch.Values))
	for k := range ch.Values {
		keys = append(keys, k)
	}
	require.NotEmpty(t, keys)
	for _, key := range keys {
		t.Run(key, func(t *testing.T) {
			ch, err := render.LoadChart(chartPath(t))
			require.NoError(t, err)
			delete(ch.Values, key)
			res, err := render.RenderChart(ch, render.Options{ReleaseName: "primus", Namespace: "primus-system", Set: []string{"replicaCount=3"}})
			require.NoError(t, err)
			d := deployment(t, res)
			assert.EqualValues(t, 3, *d.Spec.Replicas)
			assert.Equal(t, "primus-leader", argValue(t, d, "leader-election-id"))
		})
	}
}

// TestTwoReleasesInOneNamespace: every name derives from the release, so two
// releases neither collide nor share a Lease.
func TestTwoReleasesInOneNamespace(t *testing.T) {
	names := map[string]string{}
	for _, release := range []string{"alpha", "beta"} {
		res, err := render.Render(render.Options{Chart: chartPath(t), ReleaseName: release, Namespace: "shared", Set: []string{"replicaCount=3"}})
		require.NoError(t, err)
		for _, o := range res.Objects {
			id := o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
			prev, dup := names[id]
			assert.False(t, dup, "%s rendered by both %s and %s", id, prev, release)
			names[id] = release
			// The API's RoleBinding to read the cluster's authentication
			// configuration must be where that Role is.
			authReader := o.GetKind() == "RoleBinding" && o.GetNamespace() == "kube-system" &&
				strings.HasSuffix(o.GetName(), "-auth-reader")
			if o.GetNamespace() != "" && !authReader {
				assert.Equal(t, "shared", o.GetNamespace(), "%s is in the release namespace", id)
			}
		}
		findings, err := invariants.Check(res.Objects, invariants.Expectation{Replicas: 3})
		require.NoError(t, err)
		assert.Empty(t, findings)
	}
	assert.Contains(t, names, "Lease/shared/alpha-primus-leader")
	assert.Contains(t, names, "Lease/shared/beta-primus-leader")
}
