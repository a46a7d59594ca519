package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/primus-dev/primus/internal/hacheck/chartcheck"
	"github.com/primus-dev/primus/internal/hacheck/render"
)

var chart = filepath.Join("..", "..", "charts", "primus")

func hacheck(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCheckExitCodes(t *testing.T) {
	cases := []struct {
		name      string
		args      []string
		wantCode  int
		wantRules []string
		wantError string
	}{
		{name: "HA install holds", args: []string{"--set", "replicaCount=3"}, wantCode: 0},
		{name: "single replica holds", args: nil, wantCode: 0},
		{name: "no PDB at 3 replicas", args: []string{"--set", "replicaCount=3", "--set", "podDisruptionBudget.enabled=false"}, wantCode: 1, wantRules: []string{"pdb-present"}},
		{name: "rollout too wide", args: []string{"--set", "replicaCount=3", "--set", "strategy.rollingUpdate.maxUnavailable=2"}, wantCode: 1, wantRules: []string{"rollout"}},
		{name: "schema rejects zero replicas", args: []string{"--set", "replicaCount=0"}, wantCode: 2, wantError: "replicaCount: must be >= 1"},
		{name: "bad --set", args: []string{"--set", "replicaCount"}, wantCode: 2, wantError: "replicaCount"},
		{name: "missing values file", args: []string{"-f", "does-not-exist.yaml"}, wantCode: 2, wantError: "does-not-exist.yaml"},
		{name: "bad output format", args: []string{"-o", "xml"}, wantCode: 2, wantError: "-o \"xml\""},
		{name: "unknown flag", args: []string{"--replicas", "3"}, wantCode: 2, wantError: "unknown flag: --replicas"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"check", chart}, tc.args...)
			if tc.wantError == "" {
				args = append(args, "-o", "json")
			}
			code, stdout, stderr := hacheck(args...)
			require.Equal(t, tc.wantCode, code, "stderr: %s", stderr)
			if tc.wantError != "" {
				assert.Contains(t, stderr, tc.wantError)
				assert.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "one line: %q", stderr)
				assert.NotContains(t, stderr, "goroutine")
				return
			}
			var res chartcheck.CheckResult
			require.NoError(t, json.Unmarshal([]byte(stdout), &res))
			var rules []string
			for _, f := range res.Findings {
				rules = append(rules, f.Rule)
				assert.NotEmpty(t, f.Object)
				assert.NotEmpty(t, f.Message)
			}
			assert.Equal(t, tc.wantRules, rules)
		})
	}
}

func TestCheckMissingChart(t *testing.T) {
	code, _, stderr := hacheck("check", "no-such-chart")
	assert.Equal(t, 2, code)
	assert.Equal(t, "hacheck: error: chart no-such-chart: no such file or directory\n", stderr)
}

func TestRenderMatchesDecodedObjects(t *testing.T) {
	code, stdout, stderr := hacheck("render", chart, "--set", "replicaCount=3", "--namespace", "ops", "--release", "p")
	require.Equal(t, 0, code, stderr)
	objs, err := render.Decode(stdout)
	require.NoError(t, err)
	deployments := render.Find(objs, "Deployment")
	require.Len(t, deployments, 1)
	assert.Equal(t, "p-primus", deployments[0].GetName())
	assert.Equal(t, "ops", deployments[0].GetNamespace())
	var d appsv1.Deployment
	require.NoError(t, deployments[0].Into(&d))
	assert.EqualValues(t, 3, *d.Spec.Replicas)
}

func TestMatrix(t *testing.T) {
	code, stdout, stderr := hacheck("check", chart, "--matrix", filepath.Join("..", "..", "tests", "render", "testdata", "matrix.yaml"), "-o", "json")
	require.Equal(t, 0, code, stderr)
	var report struct {
		Cases  []chartcheck.MatrixResult `json:"cases"`
		Failed int                       `json:"failed"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &report))
	assert.Zero(t, report.Failed)
	require.NotEmpty(t, report.Cases)
	for _, c := range report.Cases {
		assert.True(t, c.AsExpected, "case %s: findings %v error %q", c.Name, c.Findings, c.Error)
	}
}
