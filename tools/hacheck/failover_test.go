package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFailoverBadInputExits2 covers the input errors, all found before a
// cluster starts. The measurement itself runs in tests/chaos.
func TestFailoverBadInputExits2(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "no chart", args: nil, want: "expected one CHART argument"},
		{name: "missing chart", args: []string{"does-not-exist"}, want: "does-not-exist"},
		{name: "bad mode", args: []string{chart, "--mode", "reboot"}, want: `--mode "reboot": want crash, graceful, pause or all`},
		{name: "no rounds", args: []string{chart, "--rounds", "0"}, want: "--rounds 0: want at least 1"},
		{name: "bad output", args: []string{chart, "-o", "xml"}, want: `-o "xml"`},
		{name: "bad --set", args: []string{chart, "--set", "replicaCount"}, want: "replicaCount"},
		{name: "values the schema rejects", args: []string{chart, "--set", "leaderElection.leaseDuration=soon"}, want: "leaderElection.leaseDuration"},
		{name: "no leader election", args: []string{chart, "--set", "replicaCount=1", "--set", "leaderElection.enabled=false", "--set", "strategy.type=Recreate"},
			want: "there is no leader to fail over"},
		{name: "unknown flag", args: []string{chart, "--replicas", "3"}, want: "unknown flag: --replicas"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := hacheck(append([]string{"failover"}, tc.args...)...)
			require.Equal(t, 2, code, "stderr: %s", stderr)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, tc.want)
			assert.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "one line: %q", stderr)
		})
	}
}

func TestFailoverHelp(t *testing.T) {
	code, stdout, _ := hacheck("failover", "--help")
	require.Equal(t, 0, code)
	for _, flag := range []string{"--rounds", "--mode", "--kubeconfig", "--set", "--namespace", "-o, --output"} {
		assert.Contains(t, stdout, flag)
	}
}
