package main

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/pflag"

	"github.com/primus-dev/primus/internal/platform"
	"github.com/primus-dev/primus/internal/platform/controller"
	"github.com/primus-dev/primus/internal/platform/leader"
)

// newFlagSet declares the flags, exactly as the chart's Deployment renders
// them, bound to o and logLevel.
func newFlagSet(o *platform.Options, logLevel *string) *pflag.FlagSet {
	fs := pflag.NewFlagSet("primus", pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are printed once, by run
	fs.SortFlags = false

	fs.BoolVar(&o.LeaderElect, "leader-elect", false, "Elect a leader through a Lease; only the leader runs the controller.")
	fs.StringVar(&o.LeaderElectionID, "leader-election-id", "primus-leader", "Name of the leader-election Lease.")
	fs.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", "", "Namespace of the Lease (default $POD_NAMESPACE).")
	fs.DurationVar(&o.LeaseDuration, "lease-duration", 15*time.Second, "How long a Lease is valid without renewal.")
	fs.DurationVar(&o.RenewDeadline, "renew-deadline", 10*time.Second, "How long the leader retries renewing before it gives up leading.")
	fs.DurationVar(&o.RetryPeriod, "retry-period", 2*time.Second, "Interval between attempts to acquire or renew the Lease.")
	fs.BoolVar(&o.LeaseWatch, "lease-watch", true, "Standbys watch the Lease and try to take it as soon as it is released or expires; the retry-period poll stays as the fallback.")
	fs.IntVar(&o.ControllerWorkers, "controller-workers", controller.DefaultWorkers, "How many Projects the leader reconciles at once.")
	fs.DurationVar(&o.ShutdownDelay, "shutdown-delay", 0, "After SIGTERM, keep serving (unready, no longer campaigning for the Lease) this long before stopping, so the Service's endpoints drop this replica first.")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", platform.DefaultShutdownTimeout, "After SIGTERM, how long the controllers get to stop before the Lease is released regardless; the chart renders terminationGracePeriodSeconds - shutdownDelaySeconds - the lease client's request timeout, so the release lands before the kubelet's SIGKILL.")
	fs.BoolVar(&o.PodDeletionCost, "pod-deletion-cost", true, "The leader sets controller.kubernetes.io/pod-deletion-cost on its own Pod (needs POD_NAME and POD_NAMESPACE).")
	fs.StringVar(&o.APIBindAddress, "api-bind-address", ":8443", `Address of the API (HTTPS): a Kubernetes API server for management.primus.dev/v1alpha1 projects, served by every replica. It uses --kubeconfig (or the in-cluster configuration) for delegated authentication and authorization, and --tls-cert-dir; "0" turns it off.`)
	fs.StringVar(&o.ManagementAPIBindAddress, "management-api-bind-address", "", "Deprecated: the API listens on --api-bind-address; when set, this replaces it.")
	_ = fs.MarkDeprecated("management-api-bind-address", "the management API is the API now: use --api-bind-address")
	fs.StringVar(&o.ManagementAPIAuditPolicyFile, "management-api-audit-policy-file", "", "An audit.k8s.io/v1 Policy file: the management API then writes an audit event per request, as the kube-apiserver's --audit-policy-file. Empty: no audit.")
	fs.StringVar(&o.ManagementAPIAuditLogPath, "management-api-audit-log-path", "-", `Where the management API's audit events go, as JSON lines; "-" is standard output.`)
	fs.StringVar(&o.HealthProbeBindAddress, "health-probe-bind-address", ":8081", "Address of /healthz and /readyz (HTTP).")
	fs.StringVar(&o.MetricsBindAddress, "metrics-bind-address", ":8080", `Address of /metrics (HTTP); "0" disables it.`)
	fs.StringVar(&o.AddressesFile, "addresses-file", "", `After binding, write the bound API, health probe and metrics addresses to this file as JSON ({"api","health","metrics"}, and "management", deprecated, repeating "api"); with port 0 in a bind address, this is how a harness learns the port.`)
	fs.StringVar(&o.TLSCertDir, "tls-cert-dir", "", "Directory with tls.crt and tls.key for the API; empty generates a self-signed certificate.")
	fs.StringVar(logLevel, "log-level", "info", "Log level: debug, info, warn or error.")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "Path to a kubeconfig; empty uses the in-cluster config or $KUBECONFIG.")
	return fs
}

// parseFlags parses args and the environment (POD_NAME, POD_NAMESPACE,
// HELM_RELEASE_NAME, HELM_RELEASE_NAMESPACE) into platform options. Every
// error is one line for the user.
func parseFlags(args []string, getenv func(string) string) (platform.Options, slog.Level, error) {
	var o platform.Options
	var logLevel string
	fs := newFlagSet(&o, &logLevel)
	if err := fs.Parse(args); err != nil {
		return o, 0, err
	}
	if fs.NArg() > 0 {
		return o, 0, fmt.Errorf("unexpected argument %q: primus takes flags only", fs.Arg(0))
	}
	level, err := platform.ParseLogLevel(logLevel)
	if err != nil {
		return o, 0, err
	}
	o.PodName = getenv("POD_NAME")
	o.PodNamespace = getenv("POD_NAMESPACE")
	o.ReleaseName = getenv("HELM_RELEASE_NAME")
	o.ReleaseNamespace = getenv("HELM_RELEASE_NAMESPACE")
	if o.LeaderElectionNamespace == "" {
		o.LeaderElectionNamespace = o.PodNamespace
	}
	o.Identity = leader.NewIdentity(o.PodName)
	if err := o.Validate(); err != nil {
		return o, 0, err
	}
	return o, level, nil
}

// usage is the --help text.
func usage() string {
	var o platform.Options
	var level string
	return "Usage: primus [flags]\n\nFlags:\n" + newFlagSet(&o, &level).FlagUsages()
}
