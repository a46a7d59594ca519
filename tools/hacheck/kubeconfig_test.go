package main

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/internal/hacheck/portlock"
)

// TestClusterFlagsBadInputExits2 checks that the flags of the verbs that
// reach a cluster are bad input (exit 2, one line naming the flag) when
// wrong, found before any cluster is started or contacted.
func TestClusterFlagsBadInputExits2(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(garbage, []byte("clusters: [not, a, map"), 0o600))
	missing := filepath.Join(t.TempDir(), "missing")
	empty := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	tests := []struct {
		name string
		env  string
		args []string
		want string
	}{
		{name: "missing --kubeconfig", args: []string{"--kubeconfig", missing}, want: "--kubeconfig " + missing + ": "},
		{name: "unparsable --kubeconfig", args: []string{"--kubeconfig", garbage}, want: "--kubeconfig " + garbage + ": "},
		{name: "empty --kubeconfig", args: []string{"--kubeconfig", empty}, want: "--kubeconfig " + empty + ": the file names no cluster"},
	}
	// The verbs that install take only a cluster the user names: $KUBECONFIG
	// alone is not read (TestVerifyNamesTheLeader runs verify with a missing
	// one). Doctor mode only reads, and reads kubectl's cluster.
	doctor := append(tests, struct {
		name string
		env  string
		args []string
		want string
	}{name: "missing $KUBECONFIG", env: missing, want: "$KUBECONFIG " + missing + ": "})
	for _, verb := range []string{"verify", "failover", "doctor"} {
		cases := tests
		if verb == "doctor" {
			cases = doctor
		}
		for _, tc := range cases {
			t.Run(verb+" "+tc.name, func(t *testing.T) {
				t.Setenv("KUBECONFIG", tc.env)
				args := append([]string{verb, chart}, tc.args...)
				if verb == "doctor" {
					args = append([]string{"verify", "--release", "primus"}, tc.args...)
				}
				code, stdout, stderr := hacheck(args...)
				require.Equal(t, 2, code, "stderr: %s", stderr)
				assert.Empty(t, stdout)
				assert.True(t, strings.HasPrefix(stderr, "hacheck: error: "+tc.want), "stderr: %q", stderr)
				assert.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "one line: %q", stderr)
			})
		}
	}
	t.Run("verify non-positive --timeout", func(t *testing.T) {
		code, _, stderr := hacheck("verify", chart, "--timeout", "0s")
		require.Equal(t, 2, code, "stderr: %s", stderr)
		assert.Equal(t, "hacheck: error: --timeout 0s: must be positive\n", stderr)
	})
}

// TestUnreachableClusterExits3: a well-formed kubeconfig whose API server
// does not answer is a runtime failure, not bad input and not a finding:
// exit 3 with one line, so CI can tell a broken cluster from a broken
// chart.
func TestUnreachableClusterExits3(t *testing.T) {
	// A port reserved for the test's life, which nothing listens on: one
	// picked by listening on :0 and closing could be bound meanwhile by
	// another package's replicas.
	set, err := portlock.Reserve(1)
	require.NoError(t, err)
	t.Cleanup(func() { _ = set.Release() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(set.Ports()[0]))
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters:
- name: gone
  cluster: {server: "https://`+addr+`", insecure-skip-tls-verify: true}
users:
- name: u
  user: {token: t}
contexts:
- name: gone
  context: {cluster: gone, user: u}
current-context: gone
`), 0o600))
	code, stdout, stderr := hacheck("verify", "--release", "primus", "-n", "primus-system", "--kubeconfig", kubeconfig)
	assert.Equal(t, 3, code, "stderr: %s", stderr)
	assert.Empty(t, stdout)
	assert.True(t, strings.HasPrefix(stderr, "hacheck: error: ") || strings.Contains(stderr, "\nhacheck: error: "), "stderr: %s", stderr)
	assert.Contains(t, stderr, addr, "the error names the API server")
	assert.NotContains(t, stderr, "goroutine", "no stack trace")
	assert.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "one line: %q", stderr)
}
