package replica

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

func TestParseLogAndEvents(t *testing.T) {
	log := strings.Join([]string{
		`{"time":"2026-03-01T12:00:00.1Z","level":"INFO","msg":"primus starting","identity":"primus-0"}`,
		`not json: a panic trace or the runtime's output`,
		`{"time":"2026-03-01T12:00:01.25Z","level":"INFO","msg":"leadership acquired","identity":"primus-0","holder":"primus-0","previous":"primus-2","reason":"lease of primus-2 expired","transitions":3}`,
		`{"level":"INFO","msg":"no time"}`,
		`{"time":"2026-03-01T12:00:09.5Z","level":"INFO","msg":"leadership released","identity":"primus-0","holder":"","reason":"shutting down"}`,
		`{"time":"2026-03-01T12:00:20Z","level":"ERROR","msg":"leadership lost","identity":"primus-0","holder":"primus-0","reason":"could not renew"}`,
	}, "\n")
	lines, err := ParseLog(strings.NewReader(log))
	require.NoError(t, err)
	require.Len(t, lines, 4, "lines without JSON or time are skipped")
	assert.Equal(t, "primus starting", lines[0].Msg)
	assert.Equal(t, "INFO", lines[0].Level)
	assert.Equal(t, "primus-0", lines[0].String("identity"))
	assert.Empty(t, lines[1].String("transitions"), "not a string")

	at := func(s string) time.Time { tm, _ := time.Parse(time.RFC3339Nano, s); return tm }
	assert.Equal(t, []Event{
		{Time: at("2026-03-01T12:00:01.25Z"), Identity: "primus-0", Kind: Acquired, Previous: "primus-2", Reason: "lease of primus-2 expired"},
		{Time: at("2026-03-01T12:00:09.5Z"), Identity: "primus-0", Kind: Released, Reason: "shutting down"},
		{Time: at("2026-03-01T12:00:20Z"), Identity: "primus-0", Kind: Lost, Reason: "could not renew"},
	}, Events(lines))
}

func TestFromDeployment(t *testing.T) {
	d := &appsv1.Deployment{}
	d.Spec.Template.Spec.Containers = []corev1.Container{
		{Name: "sidecar", Args: []string{"--other"}},
		{Name: "primus", Args: []string{"--leader-elect=true", "--lease-duration=4s"}, Env: []corev1.EnvVar{
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "HELM_RELEASE_NAME", Value: "primus"},
		}},
	}
	args, env, err := FromDeployment(d, "primus")
	require.NoError(t, err)
	assert.Equal(t, []string{"--leader-elect=true", "--lease-duration=4s"}, args)
	assert.Equal(t, []string{"HELM_RELEASE_NAME=primus"}, env, "fieldRef variables are the harness's to set")

	args, _, err = FromDeployment(d, "")
	require.NoError(t, err)
	assert.Equal(t, []string{"--other"}, args, "no name: the first container")

	_, _, err = FromDeployment(d, "missing")
	assert.ErrorContains(t, err, `no container "missing"`)
}

func TestWithoutFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"flag=value", []string{"--leader-elect=true", "--api-bind-address=:8443", "--log-level=info"}, []string{"--leader-elect=true", "--log-level=info"}},
		{"flag value", []string{"--api-bind-address", ":8443", "--log-level=info"}, []string{"--log-level=info"}},
		{"a bool flag before another flag", []string{"--kubeconfig", "--log-level=info"}, []string{"--log-level=info"}},
		{"nothing to drop", []string{"--leader-elect"}, []string{"--leader-elect"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, withoutFlags(tc.args, addressFlags))
		})
	}
}

func TestArgValue(t *testing.T) {
	args := []string{"--leader-elect=true", "--shutdown-delay=5s", "--log-level", "info", "--shutdown-delay=2s"}
	v, ok := ArgValue(args, "--shutdown-delay")
	assert.True(t, ok)
	assert.Equal(t, "2s", v, "the last one wins, as with pflag")
	v, ok = ArgValue(args, "--log-level")
	assert.True(t, ok)
	assert.Equal(t, "info", v)
	_, ok = ArgValue(args, "--kubeconfig")
	assert.False(t, ok)
}

func TestProcessUsageOfThisProcess(t *testing.T) {
	// Spin for 50 ms so the process has used more than one clock tick
	// (10 ms) of CPU, whatever ran before.
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; {
	}
	u, err := ProcessUsage(os.Getpid())
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	assert.Positive(t, u.RSS)
	assert.Positive(t, u.CPU)
}

func TestBindFlag(t *testing.T) {
	args := []string{"--api-bind-address=:8443", "--metrics-bind-address", "0", "--management-api-bind-address=:8444"}
	tests := []struct {
		name string
		host string
		flag string
		want string
	}{
		{name: "loopback, port from the kernel", flag: "--api-bind-address", want: "--api-bind-address=127.0.0.1:0"},
		{name: "pod IP keeps the container port", host: "198.18.0.2", flag: "--api-bind-address", want: "--api-bind-address=198.18.0.2:8443"},
		{name: "pod IP, another flag's port", host: "198.18.0.2", flag: "--management-api-bind-address", want: "--management-api-bind-address=198.18.0.2:8444"},
		{name: "pod IP, flag without a port", host: "198.18.0.2", flag: "--metrics-bind-address", want: "--metrics-bind-address=198.18.0.2:0"},
		{name: "pod IP, flag absent", host: "198.18.0.2", flag: "--health-probe-bind-address", want: "--health-probe-bind-address=198.18.0.2:0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Config{Args: args, Host: tc.host}.bindFlag(tc.flag))
		})
	}
}

// TestAPIFlag: Start binds the API with --api-bind-address on the port the
// Pod's command line gives it, reading the deprecated
// --management-api-bind-address first, as the binary does, and keeps it
// off when that address is 0.
func TestAPIFlag(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		host    string
		want    string
		wantOff bool
	}{
		{name: "default, loopback", want: "--api-bind-address=127.0.0.1:0"},
		{name: "pod IP keeps the API's port", args: []string{"--api-bind-address=:8443"}, host: "198.18.0.2", want: "--api-bind-address=198.18.0.2:8443"},
		{name: "off", args: []string{"--api-bind-address=0"}, want: "--api-bind-address=0", wantOff: true},
		{name: "the deprecated flag's port", args: []string{"--api-bind-address=:8443", "--management-api-bind-address=:8444"}, host: "198.18.0.2", want: "--api-bind-address=198.18.0.2:8444"},
		{name: "the deprecated flag turns it on", args: []string{"--api-bind-address=0", "--management-api-bind-address=:8444"}, want: "--api-bind-address=127.0.0.1:0"},
		{name: "the deprecated flag turns it off", args: []string{"--api-bind-address=:8443", "--management-api-bind-address=0"}, want: "--api-bind-address=0", wantOff: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			flag, off := Config{Args: tc.args, Host: tc.host}.apiFlag()
			assert.Equal(t, tc.want, flag)
			assert.Equal(t, tc.wantOff, off)
		})
	}
}
