package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/internal/hacheck/portlock"
	"github.com/primus-dev/primus/internal/platform"
)

// TestMain runs this test binary as primus itself when asked: the tests
// below start the real program as a child process and read its exit code
// and log, without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("PRIMUS_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// startPrimus runs primus with args and returns its exit code, its stderr
// and how long it ran. ctx bounds the run.
func startPrimus(ctx context.Context, t *testing.T, args ...string) (int, []byte, time.Duration) {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), "PRIMUS_TEST_RUN_MAIN=1", "POD_NAME=", "POD_NAMESPACE=", "KUBECONFIG=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	require.NoError(t, ctx.Err(), "primus did not exit: %s", stderr.String())
	var exitErr *exec.ExitError
	if err != nil {
		require.ErrorAs(t, err, &exitErr)
		return exitErr.ExitCode(), stderr.Bytes(), took
	}
	return 0, stderr.Bytes(), took
}

// logLine is the part of a JSON log line the tests read.
type logLine struct {
	Level string `json:"level"`
	Msg   string `json:"msg"`
	Err   string `json:"err"`
}

func errorLines(t *testing.T, stderr []byte) []logLine {
	t.Helper()
	var errs []logLine
	sc := bufio.NewScanner(bytes.NewReader(stderr))
	for sc.Scan() {
		var l logLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l), "log line %q", sc.Text())
		if l.Level == "ERROR" {
			errs = append(errs, l)
		}
	}
	return errs
}

// unreachableKubeconfig points at a port nothing listens on: the listeners
// are bound before any API call, and the later failures must not wait for
// the API server. The port is reserved with portlock for the test's life: a
// port picked by listening on :0 and closing could be bound meanwhile by any
// process binding :0 (another package's replicas, say), which this primus
// would then talk to.
func unreachableKubeconfig(t *testing.T) string {
	t.Helper()
	set, err := portlock.Reserve(1)
	require.NoError(t, err)
	t.Cleanup(func() { _ = set.Release() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(set.Ports()[0]))
	path := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(path, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://`+addr+`", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600))
	return path
}

func TestListenFailureExitsAtOnceNamingTheAddress(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = taken.Close() })
	busy := taken.Addr().String()
	free := "127.0.0.1:0"
	tests := []struct {
		name        string
		args        []string
		wantInError []string
	}{
		{"api port taken", []string{"--api-bind-address=" + busy, "--health-probe-bind-address=" + free, "--metrics-bind-address=" + free},
			[]string{"--api-bind-address", busy, "address already in use"}},
		{"health probe port taken", []string{"--api-bind-address=" + free, "--health-probe-bind-address=" + busy, "--metrics-bind-address=" + free},
			[]string{"--health-probe-bind-address", busy, "address already in use"}},
		{"metrics port taken", []string{"--api-bind-address=" + free, "--health-probe-bind-address=" + free, "--metrics-bind-address=" + busy},
			[]string{"--metrics-bind-address", busy, "address already in use"}},
	}
	kubeconfig := unreachableKubeconfig(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Half the graceful stop budget: a replica that cannot serve
			// must not wait for a graceful stop at all.
			ctx, cancel := context.WithTimeout(context.Background(), platform.DefaultShutdownTimeout/2)
			defer cancel()
			code, stderr, took := startPrimus(ctx, t, append(tc.args, "--kubeconfig="+kubeconfig)...)
			assert.Equal(t, 1, code, "exit code; log:\n%s", stderr)
			errs := errorLines(t, stderr)
			require.Len(t, errs, 1, "one error line; log:\n%s", stderr)
			assert.Equal(t, "primus failed", errs[0].Msg)
			for _, want := range tc.wantInError {
				assert.Contains(t, errs[0].Err, want)
			}
			t.Logf("exited after %s", took)
		})
	}
}

func TestAddressesFileReportsTheBoundPorts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "addresses.json")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "--api-bind-address=127.0.0.1:0", "--health-probe-bind-address=127.0.0.1:0",
		"--metrics-bind-address=127.0.0.1:0", "--addresses-file="+path, "--kubeconfig="+unreachableKubeconfig(t))
	cmd.Env = append(os.Environ(), "PRIMUS_TEST_RUN_MAIN=1", "POD_NAME=", "POD_NAMESPACE=")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	var a platform.Addresses
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		b, err := os.ReadFile(path)
		require.NoError(c, err)
		require.NoError(c, json.Unmarshal(b, &a))
	}, 20*time.Second, 20*time.Millisecond)
	seen := map[string]bool{}
	for _, addr := range []string{a.API, a.Health, a.Metrics} {
		host, port, err := net.SplitHostPort(addr)
		require.NoError(t, err)
		assert.Equal(t, "127.0.0.1", host)
		assert.NotEqual(t, "0", port)
		assert.False(t, seen[port], "ports distinct: %+v", a)
		seen[port] = true
	}
}
