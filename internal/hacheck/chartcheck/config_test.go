package chartcheck

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/internal/hacheck/invariants"
	"github.com/primus-dev/primus/internal/hacheck/render"
)

// TestLoadConfig reads .hacheck.yaml files as chart authors write them:
// every field of a good one is kept, and each mistake is bad input naming
// the file and the field.
func TestLoadConfig(t *testing.T) {
	cases := []struct {
		name    string
		yaml    string
		wantErr string
		check   func(t *testing.T, c *Config)
	}{
		{
			name: "every field",
			yaml: `failOn: info
rules:
  spread: {disabled: true}
  pod-security: {severity: info}
expect:
  - workload: "Deployment/*-controller"
    replicas: 3
  - workload: "Deployment/*"
    replicasFrom: controller.replicas
dialects:
  - name: ctl
    enable: [--ha]
    leaseName: [--ha-lease]
controllers:
  - name: ctl
    image: example/ctl
    leaderElection: default-on
    dialect: ctl
`,
			check: func(t *testing.T, c *Config) {
				assert.Equal(t, "info", c.FailOn)
				assert.True(t, c.Rules["spread"].Disabled)
				assert.Equal(t, invariants.Severity("info"), c.Rules["pod-security"].Severity)
				assert.Equal(t, []ExpectEntry{
					{Workload: "Deployment/*-controller", Replicas: 3},
					{Workload: "Deployment/*", ReplicasFrom: "controller.replicas"},
				}, c.Expect)
				require.Len(t, c.Dialects, 1)
				assert.Equal(t, "ctl", c.Dialects[0].Name)
				assert.Equal(t, []string{"--ha"}, c.Dialects[0].Enable)
				assert.Equal(t, []string{"--ha-lease"}, c.Dialects[0].LeaseName)
				require.Len(t, c.Controllers, 1)
				assert.Equal(t, "ctl", c.Controllers[0].Name)
				assert.Equal(t, "example/ctl", c.Controllers[0].Image)
				assert.Equal(t, "ctl", c.Controllers[0].Dialect)
				assert.Equal(t, invariants.DefaultOn, c.Controllers[0].LeaderElection)
			},
		},
		{name: "unknown field", yaml: "failureMode: error\n", wantErr: `unknown field "failureMode"`},
		{name: "bad failOn", yaml: "failOn: sometimes\n", wantErr: "failOn:"},
		{name: "no such rule", yaml: "rules:\n  spreading: {disabled: true}\n", wantErr: `rules: "spreading" is no rule id`},
		{name: "bad severity", yaml: "rules:\n  spread: {severity: fatal}\n", wantErr: "rules.spread.severity:"},
		{name: "expect without a count", yaml: "expect:\n  - workload: Deployment/x\n", wantErr: "expect[0]: want workload and one of replicas or replicasFrom"},
		{name: "expect with both counts", yaml: "expect:\n  - {workload: Deployment/x, replicas: 2, replicasFrom: replicaCount}\n", wantErr: "expect[0]:"},
		{name: "bad leader election default", yaml: "controllers:\n  - {image: example/ctl, leaderElection: maybe}\n", wantErr: `controllers[0].leaderElection: "maybe"`},
		{name: "controller without image", yaml: "controllers:\n  - {leaderElection: always}\n", wantErr: "controllers[0].image is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), ConfigFile)
			require.NoError(t, os.WriteFile(path, []byte(tc.yaml), 0o644))
			c, err := LoadConfig(path, "")
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.True(t, render.IsInputError(err), "bad input, not a runtime failure: %v", err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.Contains(t, err.Error(), path, "the error names the file")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, path, c.Path())
			tc.check(t, c)
		})
	}
}

// TestLoadConfigFindsTheChartsFile: without --config the chart's own
// .hacheck.yaml is read; a chart without one gets the empty config.
func TestLoadConfigFindsTheChartsFile(t *testing.T) {
	chart := t.TempDir()
	c, err := LoadConfig("", chart)
	require.NoError(t, err)
	assert.Empty(t, c.Path())

	require.NoError(t, os.WriteFile(filepath.Join(chart, ConfigFile), []byte("failOn: error\n"), 0o644))
	c, err = LoadConfig("", chart)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(chart, ConfigFile), c.Path())
	assert.Equal(t, "error", c.FailOn)

	_, err = LoadConfig(filepath.Join(chart, "missing.yaml"), chart)
	require.Error(t, err)
	assert.True(t, render.IsInputError(err))
	assert.Contains(t, err.Error(), "--config")
}
