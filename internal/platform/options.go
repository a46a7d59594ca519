package platform

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/primus-dev/primus/internal/platform/leader/timing"
)

// Options is everything Run needs; cmd/primus fills it from flags and the
// environment.
type Options struct {
	// LeaderElect runs the controller only on the replica holding the Lease.
	LeaderElect bool
	// LeaderElectionID and LeaderElectionNamespace name the Lease.
	LeaderElectionID, LeaderElectionNamespace string
	// LeaseDuration, RenewDeadline and RetryPeriod tune the election.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// PodDeletionCost makes the leader mark its own Pod (needs PodName and
	// PodNamespace).
	PodDeletionCost bool

	// ControllerWorkers is how many Projects the leader reconciles at once;
	// zero means controller.DefaultWorkers.
	ControllerWorkers int
	// LeaseWatch makes a standby watch the Lease and try to take it the
	// moment it is released or expires, instead of at its next poll.
	LeaseWatch bool

	// APIBindAddress is the HTTPS address of the API: the Kubernetes API
	// server for management.primus.dev (internal/platform/mgmtapi) that
	// every replica serves; "0" turns it off.
	APIBindAddress string
	// ManagementAPIBindAddress is deprecated: the API listens on
	// APIBindAddress. When set, it replaces APIBindAddress, as it did when
	// the management API had a listener of its own.
	ManagementAPIBindAddress string
	// ManagementAPIAuditPolicyFile is an audit.k8s.io/v1 Policy: with it the
	// management API writes an audit event per request, as the
	// kube-apiserver does (--audit-policy-file). Empty: no audit.
	ManagementAPIAuditPolicyFile string
	// ManagementAPIAuditLogPath is where the audit events go, as JSON
	// lines; "-" (the default) is standard output, the replica's log.
	ManagementAPIAuditLogPath string
	// HealthProbeBindAddress serves /healthz and /readyz over HTTP.
	HealthProbeBindAddress string
	// MetricsBindAddress serves /metrics over HTTP; "0" disables it.
	MetricsBindAddress string
	// AddressesFile, when set, receives the bound API, health probe and
	// metrics addresses as JSON (Addresses) once all three are bound: with
	// port 0 in the bind addresses, the kernel picks free ports and a
	// harness reads them here.
	AddressesFile string
	// TLSCertDir holds tls.crt and tls.key; empty means self-signed.
	TLSCertDir string

	// Kubeconfig is an explicit kubeconfig path; empty means in-cluster
	// or $KUBECONFIG, as controller-runtime's loader decides.
	Kubeconfig string

	// Identity is this replica's leader-election identity.
	Identity string
	// PodName and PodNamespace locate this replica's Pod, if any.
	PodName, PodNamespace string
	// ReleaseName and ReleaseNamespace are the Helm release, for the
	// ownership metadata of a Lease the binary creates.
	ReleaseName, ReleaseNamespace string

	// ShutdownTimeout bounds the graceful stop of the controllers: when it
	// ends, a leader releases the Lease regardless (--shutdown-timeout);
	// zero means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// ShutdownDelay is how long a replica told to stop (SIGTERM) keeps
	// serving, unready, before it stops: the Service's endpoints drop it
	// meanwhile. It stops campaigning for the Lease at once, so a leader
	// draining at the same time hands over to a replica that stays.
	ShutdownDelay time.Duration
	// Log receives every log line. Nil discards.
	Log *slog.Logger
}

// apiAddress is the address the API listens on, and the flag it came
// from: the deprecated --management-api-bind-address when set, else
// --api-bind-address.
func (o Options) apiAddress() (addr, flag string) {
	if o.ManagementAPIBindAddress != "" {
		return o.ManagementAPIBindAddress, "--management-api-bind-address"
	}
	return o.APIBindAddress, "--api-bind-address"
}

// DefaultShutdownTimeout leaves room within the chart's default 30 s
// termination grace period.
const DefaultShutdownTimeout = 25 * time.Second

// Validate reports the first option that cannot work, as one line for the
// user. Run calls it too.
func (o Options) Validate() error {
	if o.APIBindAddress == "" && o.ManagementAPIBindAddress == "" {
		return errors.New(`--api-bind-address must be set ("0" turns the API off)`)
	}
	if o.HealthProbeBindAddress == "" || o.HealthProbeBindAddress == "0" {
		return errors.New("--health-probe-bind-address must be set: the probes need it")
	}
	for flag, addr := range map[string]string{
		"--api-bind-address": o.APIBindAddress, "--health-probe-bind-address": o.HealthProbeBindAddress,
		"--metrics-bind-address": o.MetricsBindAddress, "--management-api-bind-address": o.ManagementAPIBindAddress,
	} {
		if addr == "0" || addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("%s %q: want host:port or :port", flag, addr)
		}
	}
	if o.ManagementAPIAuditPolicyFile != "" {
		if addr, _ := o.apiAddress(); addr == "0" {
			return errors.New("--management-api-audit-policy-file needs the API: --api-bind-address is 0")
		}
		if _, err := os.Stat(o.ManagementAPIAuditPolicyFile); err != nil {
			return fmt.Errorf("--management-api-audit-policy-file: %w", err)
		}
	}
	if o.Kubeconfig != "" {
		if _, err := os.Stat(o.Kubeconfig); err != nil {
			return fmt.Errorf("--kubeconfig: %w", err)
		}
	}
	if o.TLSCertDir != "" {
		for _, f := range []string{"tls.crt", "tls.key"} {
			if _, err := os.Stat(filepath.Join(o.TLSCertDir, f)); err != nil {
				return fmt.Errorf("--tls-cert-dir: %w", err)
			}
		}
	}
	if o.ShutdownTimeout < 0 {
		return fmt.Errorf("--shutdown-timeout %s: want a positive duration (0 means the default, %s)", o.ShutdownTimeout, DefaultShutdownTimeout)
	}
	if o.ControllerWorkers < 0 {
		return fmt.Errorf("--controller-workers %d: want at least 1 (0 means the default)", o.ControllerWorkers)
	}
	if !o.LeaderElect {
		return nil
	}
	switch {
	case o.LeaderElectionID == "":
		return errors.New("--leader-election-id must be set with --leader-elect")
	case o.LeaderElectionNamespace == "":
		return errors.New("--leader-election-namespace must be set with --leader-elect (or run in a Pod with POD_NAMESPACE)")
	case o.Identity == "":
		return errors.New("leader-election identity is empty")
	}
	return timing.Lease{LeaseDuration: o.LeaseDuration, RenewDeadline: o.RenewDeadline, RetryPeriod: o.RetryPeriod}.ValidateMargin(timing.MinLeaseMargin, timing.PrimusFlags)
}

// ParseLogLevel parses debug, info, warn or error.
func ParseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
}
