package render

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/gruntwork-io/terratest/modules/helm"
	"github.com/gruntwork-io/terratest/modules/logger"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/hacheck/render"
)

// TestHelmCLIParity renders the same value sets through the helm CLI (the
// path terratest's helm.RenderTemplate takes, one process per render) and
// through the SDK (hacheck render), and requires identical output.
func TestHelmCLIParity(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the helm CLI built by the embedded cluster's binaries")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	bins, err := cluster.EnsureBinaries(ctx, cluster.BinaryOptions{Log: os.Stderr})
	require.NoError(t, err)
	t.Setenv("PATH", bins.PATH())

	cases := []struct {
		name string
		set  map[string]string
	}{
		{name: "defaults"},
		{name: "ha", set: map[string]string{"replicaCount": "3"}},
		{name: "ha hard with custom lease", set: map[string]string{"replicaCount": "5", "podAntiAffinity": "hard", "leaderElection.leaseName": "lock", "leaderElection.namespace": "locks"}},
		{name: "pdb percentage", set: map[string]string{"replicaCount": "4", "podDisruptionBudget.maxUnavailable": "50%"}},
		{name: "single replica without leader election", set: map[string]string{"leaderElection.enabled": "false", "strategy.type": "Recreate"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := &helm.Options{SetValues: tc.set, Logger: logger.Discard}
			cli, err := helm.RenderTemplateE(t, opts, chartPath(t), "primus", nil, "--namespace", "primus-system")
			require.NoError(t, err)

			var set []string
			for k, v := range tc.set {
				set = append(set, k+"="+v)
			}
			sdk, err := render.Render(render.Options{Chart: chartPath(t), ReleaseName: "primus", Namespace: "primus-system", Set: set})
			require.NoError(t, err)

			cliObjs, err := render.Decode(cli)
			require.NoError(t, err)
			require.Equal(t, len(cliObjs), len(sdk.Objects))
			for i := range cliObjs {
				assert.Equal(t, cliObjs[i].Source, sdk.Objects[i].Source)
				assert.Equal(t, cliObjs[i].Object, sdk.Objects[i].Object, "%s differs", cliObjs[i].Ref())
			}
			// terratest trims the CLI's final newline; otherwise byte for byte.
			assert.Equal(t, cli+"\n", sdk.Manifest, "the same text as helm template")
		})
	}
}
