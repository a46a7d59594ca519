package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// ctlChart is a small controller chart with HA defects, a suppression, a
// config file and a CronJob.
var ctlChart = filepath.Join("testdata", "ctl-chart")

// TestCheckGolden: the text, JSON and SARIF reports of one check, refreshed
// with go test ./tools/hacheck -update and reviewed in the diff.
func TestCheckGolden(t *testing.T) {
	for _, format := range []string{"text", "json", "sarif"} {
		t.Run(format, func(t *testing.T) {
			code, stdout, stderr := hacheck("check", ctlChart, "--release", "r", "-n", "ops", "-o", format)
			require.Equal(t, 1, code, "stderr: %s", stderr)
			golden := filepath.Join("testdata", "check.golden."+map[string]string{"text": "txt", "json": "json", "sarif": "sarif.json"}[format])
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(stdout), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), stdout)
		})
	}
}

// TestSARIFShape checks what code scanning needs of the log.
func TestSARIFShape(t *testing.T) {
	_, stdout, _ := hacheck("check", ctlChart, "--release", "r", "-n", "ops", "-o", "sarif")
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Locations []struct {
					PhysicalLocation *struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
				Suppressions []struct {
					Justification string `json:"justification"`
				} `json:"suppressions"`
			} `json:"results"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &log))
	assert.Equal(t, "2.1.0", log.Version)
	require.Len(t, log.Runs, 1)
	run := log.Runs[0]
	require.NotEmpty(t, run.Results)
	suppressed := 0
	for _, r := range run.Results {
		assert.Equal(t, r.RuleID, run.Tool.Driver.Rules[r.RuleIndex].ID)
		assert.Contains(t, []string{"error", "warning", "note"}, r.Level)
		require.Len(t, r.Locations, 1)
		if loc := r.Locations[0].PhysicalLocation; loc != nil {
			assert.FileExists(t, loc.ArtifactLocation.URI)
			assert.Positive(t, loc.Region.StartLine)
		}
		if len(r.Suppressions) > 0 {
			suppressed++
			assert.Equal(t, "runs in a privileged namespace by design", r.Suppressions[0].Justification)
		}
	}
	assert.Positive(t, suppressed)
}

func TestCheckFailOnAndExpect(t *testing.T) {
	cases := []struct {
		name      string
		args      []string
		wantCode  int
		wantError string
	}{
		{name: "errors fail at the default", wantCode: 1},
		{name: "fail on none", args: []string{"--fail-on", "none"}, wantCode: 0},
		{name: "warnings do not fail at --fail-on error once the errors are fixed",
			args: []string{"--set", "leaderElect=true", "--set", "replicaCount=1", "--fail-on", "error"}, wantCode: 0},
		{name: "the same at the default fails on the warning", args: []string{"--set", "leaderElect=true", "--set", "replicaCount=1"}, wantCode: 1},
		{name: "--expect wins over the config", args: []string{"--fail-on", "error", "--set", "leaderElect=true", "--set", "replicaCount=1", "--expect", "r-ctl=2"}, wantCode: 1},
		{name: "upgrade renames the Lease", args: []string{"--fail-on", "error", "--set", "leaderElect=true", "--set", "replicaCount=1",
			"--against", ctlChart, "--against-set", "leaderElect=true", "--against-set", "replicaCount=1", "--set", "leaseName=ctl-v2"}, wantCode: 1},
		{name: "upgrade keeps the Lease", args: []string{"--fail-on", "error", "--set", "leaderElect=true", "--set", "replicaCount=1",
			"--against", ctlChart, "--against-set", "leaderElect=true", "--against-set", "replicaCount=1"}, wantCode: 0},
		{name: "bad --against chart", args: []string{"--against", "no-such-chart"}, wantCode: 2, wantError: "--against no-such-chart"},
		{name: "bad --fail-on", args: []string{"--fail-on", "fatal"}, wantCode: 2, wantError: "--fail-on"},
		{name: "bad --expect", args: []string{"--expect", "r-ctl=two"}, wantCode: 2, wantError: `--expect "r-ctl=two"`},
		{name: "missing config", args: []string{"--config", "no-such.yaml"}, wantCode: 2, wantError: "no-such.yaml"},
		{name: "config naming no rule", args: []string{"--config", filepath.Join("testdata", "bad-config.yaml")}, wantCode: 2, wantError: `"no-such-rule" is no rule id`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := hacheck(append([]string{"check", ctlChart, "--release", "r", "-n", "ops"}, tc.args...)...)
			assert.Equal(t, tc.wantCode, code, "stderr: %s", stderr)
			if tc.wantError != "" {
				assert.Contains(t, stderr, tc.wantError)
			}
		})
	}
}
