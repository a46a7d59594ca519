package platform

import (
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func validOptions() Options {
	return Options{
		LeaderElect: true, LeaderElectionID: "primus-leader", LeaderElectionNamespace: "platform",
		LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second,
		APIBindAddress: ":8443", HealthProbeBindAddress: ":8081", MetricsBindAddress: ":8080", Identity: "primus-0",
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{name: "chart defaults", change: func(*Options) {}},
		{name: "test timings", change: func(o *Options) {
			o.LeaseDuration, o.RenewDeadline, o.RetryPeriod = 4*time.Second, 3*time.Second, time.Second
		}},
		{name: "no election needs no lease", change: func(o *Options) { *o = Options{APIBindAddress: ":8443", HealthProbeBindAddress: ":8081"} }},
		{name: "no lease name", change: func(o *Options) { o.LeaderElectionID = "" }, want: "--leader-election-id must be set"},
		{name: "no identity", change: func(o *Options) { o.Identity = "" }, want: "identity is empty"},
		{name: "zero retry", change: func(o *Options) { o.RetryPeriod = 0 }, want: "must be positive"},
		{name: "renew equals lease", change: func(o *Options) { o.RenewDeadline = o.LeaseDuration }, want: "must be longer than --renew-deadline"},
		{name: "retry too close to renew", change: func(o *Options) { o.RetryPeriod = 9 * time.Second }, want: "1.2 x --retry-period"},
		{name: "negative shutdown timeout", change: func(o *Options) { o.ShutdownTimeout = -time.Second }, want: "--shutdown-timeout"},
		{name: "no api address", change: func(o *Options) { o.APIBindAddress = "" }, want: "--api-bind-address"},
		{name: "api address without port", change: func(o *Options) { o.APIBindAddress = "8443" }, want: `--api-bind-address "8443": want host:port`},
		{name: "api off", change: func(o *Options) { o.APIBindAddress = "0" }},
		{name: "deprecated management api address", change: func(o *Options) { o.ManagementAPIBindAddress = ":8444" }},
		{name: "management api address without port", change: func(o *Options) { o.ManagementAPIBindAddress = "8444" }, want: `--management-api-bind-address "8444": want host:port`},
		{name: "audit without the api", change: func(o *Options) { o.APIBindAddress, o.ManagementAPIAuditPolicyFile = "0", "/etc/hosts" }, want: "--management-api-audit-policy-file needs the API: --api-bind-address is 0"},
		{name: "audit policy missing", change: func(o *Options) {
			o.ManagementAPIAuditPolicyFile = "/nonexistent/policy.yaml"
		}, want: "--management-api-audit-policy-file: stat /nonexistent/policy.yaml"},
		{name: "audit on", change: func(o *Options) { o.ManagementAPIAuditPolicyFile = "/etc/hosts" }},
		{name: "sixteen workers", change: func(o *Options) { o.ControllerWorkers = 16 }},
		{name: "negative workers", change: func(o *Options) { o.ControllerWorkers = -1 }, want: "--controller-workers -1: want at least 1"},
		{name: "metrics off", change: func(o *Options) { o.MetricsBindAddress = "0" }},
		{name: "missing kubeconfig", change: func(o *Options) { o.Kubeconfig = "/nonexistent/kubeconfig" }, want: "--kubeconfig: stat /nonexistent/kubeconfig"},
		{name: "cert dir without key", change: func(o *Options) { o.TLSCertDir = os.TempDir() + "/primus-no-certs" }, want: "--tls-cert-dir: stat"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := validOptions()
			tc.change(&o)
			err := o.Validate()
			if tc.want == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tc.want)
			}
		})
	}
}

func TestParseLogLevel(t *testing.T) {
	tests := []struct {
		in   string
		want slog.Level
		err  bool
	}{
		{"debug", slog.LevelDebug, false}, {"info", slog.LevelInfo, false}, {"warn", slog.LevelWarn, false},
		{"error", slog.LevelError, false}, {"INFO", slog.LevelInfo, false}, {"trace", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseLogLevel(tc.in)
			if tc.err {
				assert.Error(t, err)
				return
			}
			assert.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
