package hacheck_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/pkg/hacheck"
)

var primusChart = filepath.Join("..", "..", "charts", "primus")

func rules(fs []hacheck.Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.Rule)
	}
	return out
}

func TestCheckManifestAndChart(t *testing.T) {
	cases := []struct {
		name      string
		set       []string
		opts      []hacheck.Option
		wantRules []string
	}{
		{name: "three replicas hold", set: []string{"replicaCount=3"}, wantRules: []string{}},
		{name: "one replica holds", wantRules: []string{}},
		{name: "no PDB at three replicas", set: []string{"replicaCount=3", "podDisruptionBudget.enabled=false"}, wantRules: []string{"pdb-present"}},
		{name: "ignored rule", set: []string{"replicaCount=3", "podDisruptionBudget.enabled=false"}, opts: []hacheck.Option{hacheck.IgnoreRules("pdb-present")}, wantRules: []string{}},
		{name: "rollout too wide", set: []string{"replicaCount=3", "strategy.rollingUpdate.maxUnavailable=2"}, wantRules: []string{"rollout"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := hacheck.ChartOptions{Chart: primusChart, ReleaseName: "primus", Set: tc.set}
			fromChart, err := hacheck.CheckChart(opts, tc.opts...)
			require.NoError(t, err)
			assert.Equal(t, tc.wantRules, rules(fromChart))

			manifest, err := hacheck.Render(opts)
			require.NoError(t, err)
			fromManifest, err := hacheck.CheckManifest(manifest, tc.opts...)
			require.NoError(t, err)
			assert.Equal(t, fromChart, fromManifest, "the manifest and the chart give the same findings")
			for _, f := range fromManifest {
				assert.Equal(t, hacheck.SeverityError, f.Severity)
				assert.NotEmpty(t, f.Object)
				assert.NotEmpty(t, f.Message)
			}
		})
	}
}

func TestCheckManifestReplicas(t *testing.T) {
	manifest, err := hacheck.Render(hacheck.ChartOptions{Chart: primusChart, Set: []string{"replicaCount=2"}})
	require.NoError(t, err)
	fs, err := hacheck.CheckManifest(manifest, hacheck.WithReplicas(3))
	require.NoError(t, err)
	require.Equal(t, []string{"replicas"}, rules(fs))
	assert.Equal(t, "Deployment/default/release-name-primus", fs[0].Object)
}

// TestCheckManifestNamespace: objects rendered without a namespace are
// read in the one WithNamespace names, where Helm would create them.
func TestCheckManifestNamespace(t *testing.T) {
	manifest := `apiVersion: apps/v1
kind: Deployment
metadata: {name: ctl}
spec:
  replicas: 1
  selector: {matchLabels: {app: ctl}}
  template:
    metadata: {labels: {app: ctl}}
    spec: {containers: [{name: ctl, image: example.com/ctl:1.0}]}
`
	tests := []struct {
		name string
		opts []hacheck.Option
		want string
	}{
		{name: "default", opts: []hacheck.Option{hacheck.WithReplicas(3)}, want: "Deployment/default/ctl"},
		{name: "release namespace", opts: []hacheck.Option{hacheck.WithReplicas(3), hacheck.WithNamespace("flux-system")}, want: "Deployment/flux-system/ctl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := hacheck.CheckManifest(manifest, tc.opts...)
			require.NoError(t, err)
			var objects []string
			for _, f := range fs {
				if f.Rule == "replicas" {
					objects = append(objects, f.Object)
				}
			}
			assert.Equal(t, []string{tc.want}, objects)
		})
	}
}

func TestCheckErrors(t *testing.T) {
	_, err := hacheck.CheckManifest("kind: [unclosed")
	require.Error(t, err)
	assert.False(t, hacheck.IsInputError(err))

	_, err = hacheck.CheckChart(hacheck.ChartOptions{Chart: "does-not-exist"})
	require.Error(t, err)
	assert.True(t, hacheck.IsInputError(err), "a missing chart is the caller's mistake: %v", err)

	_, err = hacheck.Render(hacheck.ChartOptions{Chart: primusChart, Set: []string{"replicaCount=0"}})
	require.Error(t, err)
	assert.True(t, hacheck.IsInputError(err))
	assert.Contains(t, err.Error(), "replicaCount")
}

func TestRules(t *testing.T) {
	rs := hacheck.Rules()
	seen := map[string]bool{}
	static := 0
	for _, r := range rs {
		assert.False(t, seen[r.ID], "duplicate rule id %s", r.ID)
		seen[r.ID] = true
		assert.NotEmpty(t, r.Description, r.ID)
		assert.Contains(t, []hacheck.Severity{hacheck.SeverityError, hacheck.SeverityWarning}, r.Severity, r.ID)
		if !r.Live {
			static++
		}
	}
	assert.Greater(t, static, 0)
	for _, id := range []string{"pdb-present", "lease-role", "spread", "replicas-ready", "rbac"} {
		assert.True(t, seen[id], "rule %s is listed", id)
	}
}

// TestCheckChartExpectations checks CheckChart takes replica expectations
// where `hacheck check` takes them, the chart's .hacheck.yaml or
// WithReplicas, and never guesses them from a values key.
func TestCheckChartExpectations(t *testing.T) {
	cases := []struct {
		name  string
		chart string
		opts  []hacheck.Option
		want  []string
	}{
		{name: "config asks replicaCount of a pinned Deployment", chart: "pinned-replicas", want: []string{"Deployment/default/release-name-web"}},
		{name: "no config: a replicaCount that drives one of two Deployments is not a finding", chart: "partial-replicacount", want: nil},
		{name: "WithReplicas asks every workload", chart: "partial-replicacount", opts: []hacheck.Option{hacheck.WithReplicas(3)}, want: []string{"Deployment/default/release-name-worker"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := hacheck.CheckChart(hacheck.ChartOptions{Chart: filepath.Join("testdata", tc.chart), Set: []string{"replicaCount=3"}}, tc.opts...)
			require.NoError(t, err)
			var got []string
			for _, f := range fs {
				if f.Rule == "replicas" {
					got = append(got, f.Object)
				}
			}
			assert.Equal(t, tc.want, got)
		})
	}
}
