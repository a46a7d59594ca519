package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/internal/platform/leader"
)

// chartArgs are the arguments charts/primus/templates/deployment.yaml
// renders with default values.
var chartArgs = []string{
	"--leader-elect=true",
	"--leader-election-id=primus-leader",
	"--leader-election-namespace=platform",
	"--lease-duration=15s",
	"--renew-deadline=10s",
	"--retry-period=2s",
	"--lease-watch=true",
	"--pod-deletion-cost=true",
	"--shutdown-timeout=20s",
	"--controller-workers=4",
	"--api-bind-address=:8443",
	"--health-probe-bind-address=:8081",
	"--metrics-bind-address=:8080",
	"--log-level=info",
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestParseFlagsAsTheChartRendersThem(t *testing.T) {
	o, level, err := parseFlags(chartArgs, env(map[string]string{
		"POD_NAME": "primus-abc", "POD_NAMESPACE": "platform",
		"HELM_RELEASE_NAME": "primus", "HELM_RELEASE_NAMESPACE": "platform",
	}))
	require.NoError(t, err)
	assert.Equal(t, slog.LevelInfo, level)
	assert.True(t, o.LeaderElect)
	assert.Equal(t, "primus-leader", o.LeaderElectionID)
	assert.Equal(t, "platform", o.LeaderElectionNamespace)
	assert.Equal(t, 15*time.Second, o.LeaseDuration)
	assert.Equal(t, 10*time.Second, o.RenewDeadline)
	assert.Equal(t, 2*time.Second, o.RetryPeriod)
	assert.True(t, o.PodDeletionCost)
	assert.True(t, o.LeaseWatch)
	assert.Equal(t, 20*time.Second, o.ShutdownTimeout)
	assert.Equal(t, 4, o.ControllerWorkers)
	assert.Equal(t, ":8443", o.APIBindAddress)
	assert.Equal(t, ":8081", o.HealthProbeBindAddress)
	assert.Equal(t, ":8080", o.MetricsBindAddress)
	assert.Equal(t, "primus-abc", leader.HolderPod(o.Identity), "the identity names the Pod")
	assert.Equal(t, "primus-abc", o.PodName)
	assert.Equal(t, "primus", o.ReleaseName)
	assert.Equal(t, "platform", o.ReleaseNamespace)

	// A container restarted in place has the same POD_NAME but is another
	// process: it must not see itself as the Lease's holder.
	restarted, _, err := parseFlags(chartArgs, env(map[string]string{"POD_NAME": "primus-abc", "POD_NAMESPACE": "platform"}))
	require.NoError(t, err)
	assert.NotEqual(t, o.Identity, restarted.Identity, "each process has its own identity")
	assert.Equal(t, "primus-abc", leader.HolderPod(restarted.Identity))
}

func TestParseFlagsDefaults(t *testing.T) {
	o, level, err := parseFlags(nil, env(nil))
	require.NoError(t, err)
	assert.Equal(t, slog.LevelInfo, level)
	assert.False(t, o.LeaderElect)
	assert.Equal(t, 15*time.Second, o.LeaseDuration)
	assert.Equal(t, 10*time.Second, o.RenewDeadline)
	assert.Equal(t, 2*time.Second, o.RetryPeriod)
	assert.True(t, o.PodDeletionCost)
	assert.True(t, o.LeaseWatch, "watch-driven acquisition is on by default")
	assert.Equal(t, 4, o.ControllerWorkers)
	assert.Equal(t, ":8443", o.APIBindAddress)
	assert.Equal(t, ":8081", o.HealthProbeBindAddress)
	assert.Equal(t, ":8080", o.MetricsBindAddress)
	assert.Empty(t, o.ManagementAPIBindAddress, "the deprecated address is unset: the API listens on --api-bind-address")
	assert.NotEmpty(t, o.Identity, "outside a Pod: host name and a random suffix")
}

func TestParseFlagsNamespaceFromPod(t *testing.T) {
	o, _, err := parseFlags([]string{"--leader-elect"}, env(map[string]string{"POD_NAMESPACE": "platform"}))
	require.NoError(t, err)
	assert.Equal(t, "platform", o.LeaderElectionNamespace)
}

func TestBadFlagsExit2WithOneLine(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--leader"}, "unknown flag: --leader"},
		{"bad duration", []string{"--lease-duration=soon"}, "invalid argument \"soon\""},
		{"bad bool", []string{"--leader-elect=maybe"}, "invalid argument \"maybe\""},
		{"bad log level", []string{"--log-level=loud"}, `--log-level "loud": want debug, info, warn or error`},
		{"positional argument", []string{"serve"}, `unexpected argument "serve"`},
		{"renew deadline too long", []string{"--leader-elect", "--leader-election-namespace=p", "--lease-duration=5s", "--renew-deadline=5s"}, "--lease-duration (5s) must be longer than --renew-deadline (5s)"},
		{"lease margin below the floor", []string{"--leader-elect", "--leader-election-namespace=p", "--lease-duration=3500ms", "--renew-deadline=3s", "--retry-period=1s"}, "--lease-duration (3.5s) must exceed --renew-deadline (3s) by at least 1s"},
		{"retry period too long", []string{"--leader-elect", "--leader-election-namespace=p", "--renew-deadline=2s", "--retry-period=2s"}, "--renew-deadline (2s) must be longer than 1.2 x --retry-period (2s)"},
		{"no lease namespace", []string{"--leader-elect"}, "--leader-election-namespace must be set"},
		{"negative workers", []string{"--controller-workers=-2"}, "--controller-workers -2: want at least 1"},
		{"no health address", []string{"--health-probe-bind-address=0"}, "--health-probe-bind-address must be set"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("POD_NAMESPACE", "")
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			assert.Equal(t, 2, code)
			assert.Empty(t, stdout.String())
			out := stderr.String()
			assert.Equal(t, 1, strings.Count(out, "\n"), "one line: %q", out)
			assert.True(t, strings.HasPrefix(out, "primus: "), out)
			assert.Contains(t, out, tc.want)
		})
	}
}

func TestHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.Equal(t, 0, run(context.Background(), []string{"--help"}, &stdout, &stderr))
	assert.Empty(t, stderr.String())
	for _, f := range []string{"--leader-elect", "--leader-election-id", "--leader-election-namespace", "--lease-duration",
		"--renew-deadline", "--retry-period", "--pod-deletion-cost", "--api-bind-address", "--health-probe-bind-address",
		"--metrics-bind-address", "--tls-cert-dir", "--log-level", "--kubeconfig", "--lease-watch", "--controller-workers"} {
		assert.Contains(t, stdout.String(), f)
	}
}
