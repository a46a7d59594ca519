package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/internal/hacheck/render"
)

func TestExitCode(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want int
	}{
		{name: "success", err: nil, want: 0},
		{name: "findings", err: fmt.Errorf("verify: %w", errFindings), want: 1},
		{name: "bad values", err: fmt.Errorf("check: %w", &render.InputError{Err: errors.New("replicaCount: must be >= 1")}), want: 2},
		{name: "bad flag", err: usageError{errors.New("unknown flag: --x")}, want: 2},
		{name: "runtime failure", err: errors.New("cluster: start kube-apiserver: exit status 1"), want: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, exitCode(tc.err))
		})
	}
}

func TestMetaCommands(t *testing.T) {
	cases := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "version", args: []string{"version"}, wantStdout: "hacheck (devel) "},
		{name: "bash completion", args: []string{"completion", "bash"}, wantStdout: "bash completion V2 for hacheck"},
		{name: "help lists the commands", args: []string{"--help"}, wantStdout: "  check       Render the chart and check its HA invariants"},
		{name: "unknown command", args: []string{"chek"}, wantCode: 2, wantStderr: `hacheck: error: unknown command "chek"; see hacheck --help`},
		{name: "no command", args: nil, wantCode: 2, wantStderr: "hacheck: error: missing command; see hacheck --help"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := hacheck(tc.args...)
			require.Equal(t, tc.wantCode, code, "stderr: %s", stderr)
			assert.Contains(t, stdout, tc.wantStdout)
			if tc.wantStderr != "" {
				assert.Equal(t, tc.wantStderr, strings.TrimSpace(stderr))
			}
		})
	}
}
