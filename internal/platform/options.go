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

	// APIBindAddress is the HTTPS API address.
	APIBindAddress string
	// HealthProbeBindAddress serves /healthz and /readyz over HTTP.
	HealthProbeBindAddress string
	// MetricsBindAddress serves /metrics over HTTP; "0" disables it.
	MetricsBindAddress string
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

	// ShutdownTimeout bounds the graceful stop of everything; zero means
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// ShutdownDelay is how long a replica told to stop (SIGTERM) keeps
	// serving, unready, before it stops: the Service's endpoints drop it
	// meanwhile. It stops campaigning for the Lease at once, so a leader
	// draining at the same time hands over to a replica that stays.
	ShutdownDelay time.Duration
	// Log receives every log line. Nil discards.
	Log *slog.Logger
}

// DefaultShutdownTimeout leaves room within the chart's default 30 s
// termination grace period.
const DefaultShutdownTimeout = 25 * time.Second

// jitterFactor is client-go's leader-election jitter: RenewDeadline must
// exceed RetryPeriod times this.
const jitterFactor = 1.2

// Validate reports the first option that cannot work, as one line for the
// user. Run calls it too.
func (o Options) Validate() error {
	if o.APIBindAddress == "" {
		return errors.New("--api-bind-address must be set")
	}
	if o.HealthProbeBindAddress == "" || o.HealthProbeBindAddress == "0" {
		return errors.New("--health-probe-bind-address must be set: the probes need it")
	}
	for flag, addr := range map[string]string{
		"--api-bind-address": o.APIBindAddress, "--health-probe-bind-address": o.HealthProbeBindAddress,
		"--metrics-bind-address": o.MetricsBindAddress,
	} {
		if addr == "0" || addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("%s %q: want host:port or :port", flag, addr)
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
	case o.LeaseDuration <= 0 || o.RenewDeadline <= 0 || o.RetryPeriod <= 0:
		return errors.New("--lease-duration, --renew-deadline and --retry-period must be positive")
	case o.LeaseDuration <= o.RenewDeadline:
		return fmt.Errorf("--lease-duration (%s) must be longer than --renew-deadline (%s)", o.LeaseDuration, o.RenewDeadline)
	case float64(o.RenewDeadline) <= jitterFactor*float64(o.RetryPeriod):
		return fmt.Errorf("--renew-deadline (%s) must be longer than %.1f x --retry-period (%s)", o.RenewDeadline, jitterFactor, o.RetryPeriod)
	}
	return nil
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
