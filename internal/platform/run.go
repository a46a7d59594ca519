package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
	"github.com/primus-dev/primus/internal/platform/controller"
	"github.com/primus-dev/primus/internal/platform/leader"
)

// ErrLeadershipLost is returned by Run when this replica could not renew
// the Lease in time. The process must exit: its controllers may still be
// running, and another replica is about to lead.
var ErrLeadershipLost = errors.New("leadership lost")

// Run runs the platform until ctx ends (graceful stop: drain the API,
// stop the controllers, release the Lease; nil error) or something fails.
func Run(ctx context.Context, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.ManagementAPIBindAddress != "" {
		log.Warn("--management-api-bind-address is deprecated: the management API is the API now, use --api-bind-address", "api", o.ManagementAPIBindAddress)
	}
	// Bind first: a replica that cannot listen says so and exits before
	// it campaigns for the Lease or reports anything to the probes.
	ls, err := bindListeners(o)
	if err != nil {
		return err
	}
	defer ls.close()
	if o.AddressesFile != "" {
		if err := writeAddresses(o.AddressesFile, ls.addresses()); err != nil {
			return err
		}
	}
	// controller-runtime and client-go log through logr and klog; send both
	// to the same slog handler so there is one structured stream.
	logrLogger := logr.FromSlogHandler(log.Handler())
	ctrllog.SetLogger(logrLogger)
	klog.SetLogger(logrLogger)

	cfg, err := restConfig(o.Kubeconfig)
	if err != nil {
		return err
	}
	cfg.UserAgent = UserAgent(o.Identity, os.Getpid())
	scheme, err := newScheme()
	if err != nil {
		return err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	// The Lease has a client of its own: a request of the controllers or
	// of the API's reviews can never hold up a renewal.
	leaseKube, err := kubernetes.NewForConfig(leaseConfig(cfg, o.RenewDeadline))
	if err != nil {
		return fmt.Errorf("lease client: %w", err)
	}
	leaderMetrics, err := leader.NewMetrics(ctrlmetrics.Registry)
	if err != nil {
		return err
	}
	// The lock adds identity and lease to its own lines.
	lock, err := prepareElection(ctx, log, leaseKube, o, leaderMetrics)
	log = log.With("identity", o.Identity)
	if err != nil {
		return err
	}
	// On a stop request (ctx) the manager stops at once: the controllers
	// stop and a leader releases the Lease, so leadership moves within the
	// retry period; the API server, on its own context, keeps serving
	// (unready) for ShutdownDelay while the Service's endpoints drop this
	// replica. A leader whose lease went stale (paused, or cut off from the
	// API server) stops both at once with ErrLeadershipLost as the cause.
	stop := ctx
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	apiCtx, cancelAPI := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelAPI()
	var draining atomic.Bool
	var staleOnce sync.Once
	var staleReason string
	onStale := func() {
		staleOnce.Do(func() {
			staleReason = lock.StaleReason()
			lock.LostBecause(staleReason)
			cancel(ErrLeadershipLost)
			cancelAPI()
		})
	}
	go func() {
		select {
		case <-ctx.Done():
			return
		case <-stop.Done():
		}
		draining.Store(true)
		if lock != nil {
			lock.Drain()
		}
		log.Info("shutting down", "api-delay", o.ShutdownDelay.String(), "reason", "stop requested: controllers stop and the lease is released now; the API serves, unready, until the delay ends")
		cancel(nil)
		select {
		case <-apiCtx.Done():
		case <-time.After(o.ShutdownDelay):
		}
		cancelAPI()
	}()

	// With --lease-watch the elector reads the Lease through a WatchLock,
	// whose Watcher takes it the moment it is released or expires.
	var electLock resourcelock.Interface
	var watcher *leader.Watcher
	if lock != nil {
		electLock = lock
		if o.LeaseWatch {
			watcher = leader.NewWatcher(kube, lock, leader.WatcherOptions{
				Namespace: o.LeaderElectionNamespace, Name: o.LeaderElectionID,
				LeaseDuration: o.LeaseDuration, Log: log,
			})
			electLock = leader.NewWatchLock(lock, watcher)
		}
	}
	mgr, err := newManager(cfg, scheme, logrLogger, o, electLock)
	if err != nil {
		return err
	}
	if watcher != nil {
		if err := mgr.Add(watcher); err != nil {
			return fmt.Errorf("add lease watcher: %w", err)
		}
	}
	if lock != nil {
		//nolint:staticcheck // client-go's resource lock takes the old events API.
		lock.SetEventRecorder(mgr.GetEventRecorderFor(o.Identity))
	}
	probes := newProbes()
	if err := addComponents(ctx, log, mgr, kube, scheme, o, leaderMetrics, lock, onStale, probes); err != nil {
		return err
	}
	srv, err := newAPI(log, cfg, scheme, mgr.GetRESTMapper(), o, ls.api)
	if err != nil {
		return err
	}
	if srv != nil {
		probes.addReadyz("api", apiReady(srv, kube))
	}
	probes.addReadyz("shutdown", func(*http.Request) error {
		if draining.Load() {
			return errors.New("shutting down")
		}
		return nil
	})
	if err := mgr.Add(probes.server(ls.health)); err != nil {
		return fmt.Errorf("add health probe server: %w", err)
	}
	if ls.metrics != nil {
		if err := mgr.Add(metricsServer(ls.metrics)); err != nil {
			return fmt.Errorf("add metrics server: %w", err)
		}
	}
	// The API server runs beside the manager, on its own context (see
	// above); an error from it (it cannot serve) must stop the manager
	// now, not when the manager happens to stop.
	apiDone := make(chan error, 1)
	if srv == nil {
		apiDone <- nil
	} else {
		go func() {
			err := srv.Start(apiCtx)
			if err != nil && apiCtx.Err() == nil {
				cancel(err)
			}
			apiDone <- err
		}()
	}

	apiAddr, _ := o.apiAddress()
	log.Info("primus starting", "leader-elect", o.LeaderElect,
		"lease", o.LeaderElectionNamespace+"/"+o.LeaderElectionID, "api", apiAddr)
	err = mgr.Start(ctx)
	if err != nil {
		cancelAPI()
	}
	if apiErr := <-apiDone; apiErr != nil && err == nil {
		err = apiErr
	}
	// The API server failed (it cannot serve): that error, not how the
	// manager stopped, is the reason.
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(cause, ErrLeadershipLost) {
		return cause
	}
	switch {
	case errors.Is(context.Cause(ctx), ErrLeadershipLost):
		return fmt.Errorf("%w: %s", ErrLeadershipLost, staleReason)
	case err != nil && lock != nil && lock.RenewalFailed():
		lock.Lost()
		return fmt.Errorf("%w: %s (the manager stopped with: %v)", ErrLeadershipLost, lock.LostReason(), err)
	case err != nil:
		return fmt.Errorf("run manager: %w", err)
	}
	log.Info("primus stopped")
	return nil
}

// leaseRequestTimeout bounds every request of the lease client, as
// controller-runtime's leader election does: half the renew deadline
// leaves a renewal time for a second attempt, and at least one second.
func leaseRequestTimeout(renewDeadline time.Duration) time.Duration {
	return max(renewDeadline/2, time.Second)
}

// leaseConfig is the lease client's configuration: a copy of cfg with
// leaseRequestTimeout and the process's user agent followed by
// LeaseComponent, so that the API server's logs and priority rules can
// tell renewals apart and its audit log still names the process.
func leaseConfig(cfg *rest.Config, renewDeadline time.Duration) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.Timeout = leaseRequestTimeout(renewDeadline)
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	c.UserAgent += " " + LeaseComponent
	return c
}

// restConfig loads the client configuration: the explicit kubeconfig, or
// controller-runtime's search (in-cluster, $KUBECONFIG, ~/.kube/config).
func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		cfg, err := config.GetConfig()
		if err != nil {
			return nil, fmt.Errorf("kubernetes client config: %w", err)
		}
		return cfg, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	// As controller-runtime's loader does: API priority and fairness, not
	// a client-side limit, paces requests.
	cfg.QPS = -1
	return cfg, nil
}

// newScheme knows the built-in types and Project.
func newScheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("scheme: %w", err)
	}
	if err := primusv1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("scheme: %w", err)
	}
	return scheme, nil
}

// prepareElection creates the Lease when the chart did not and returns the
// lock to elect with, or nil without leader election.
func prepareElection(ctx context.Context, log *slog.Logger, kube kubernetes.Interface, o Options, m *leader.Metrics) (*leader.Lock, error) {
	if !o.LeaderElect {
		return nil, nil
	}
	lease := o.LeaderElectionNamespace + "/" + o.LeaderElectionID
	created, err := leader.EnsureLease(ctx, kube, leader.LeaseOptions{
		Namespace: o.LeaderElectionNamespace, Name: o.LeaderElectionID,
		ReleaseName: o.ReleaseName, ReleaseNamespace: o.ReleaseNamespace,
	})
	switch {
	case err != nil:
		// Not fatal: client-go creates the Lease itself (without Helm's
		// metadata) if it still does not exist.
		log.Warn("could not create the leader lease; the election will try", "identity", o.Identity, "lease", lease, "err", err)
	case created:
		log.Info("leader lease created", "identity", o.Identity, "lease", lease, "release", o.ReleaseName)
	}
	opts := leader.LockOptions{
		Namespace: o.LeaderElectionNamespace, Name: o.LeaderElectionID,
		Identity: o.Identity, Log: log, Metrics: m, RenewDeadline: o.RenewDeadline, LeaseDuration: o.LeaseDuration,
	}
	// Running as a Pod (the chart grants get on pods with the deletion
	// cost): never take the Lease while that Pod is being deleted.
	if o.PodDeletionCost && o.PodName != "" && o.PodNamespace != "" {
		opts.MayAcquire = leader.OwnPodGuard(ctx, kube, o.PodNamespace, o.PodName, o.RenewDeadline, leaseRequestTimeout(o.RenewDeadline), log.With("identity", o.Identity))
	}
	return leader.NewLock(kube, opts)
}

// newManager builds the controller-runtime manager.
func newManager(cfg *rest.Config, scheme *runtime.Scheme, logger logr.Logger, o Options, lock resourcelock.Interface) (manager.Manager, error) {
	opts := manager.Options{
		Scheme: scheme,
		Logger: logger,
		// Run binds and serves /metrics and the probes itself, on the
		// listeners bound at start (see listeners.go).
		Metrics:                 metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:  "0",
		Cache:                   cache.Options{ByObject: controller.CacheByObject()},
		GracefulShutdownTimeout: &o.ShutdownTimeout,
	}
	if o.LeaderElect {
		opts.LeaderElection = true
		opts.LeaderElectionResourceLock = resourcelock.LeasesResourceLock
		opts.LeaderElectionID = o.LeaderElectionID
		opts.LeaderElectionNamespace = o.LeaderElectionNamespace
		opts.LeaseDuration = &o.LeaseDuration
		opts.RenewDeadline = &o.RenewDeadline
		opts.RetryPeriod = &o.RetryPeriod
		opts.LeaderElectionReleaseOnCancel = true
		// Our lock: the identity is the Pod name, and every leadership
		// change is logged and measured.
		opts.LeaderElectionResourceLockInterface = lock
	}
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}
	return mgr, nil
}

// addComponents adds the health checks, the controller and the
// deletion-cost marker to mgr.
func addComponents(ctx context.Context, log *slog.Logger, mgr manager.Manager, kube kubernetes.Interface,
	scheme *runtime.Scheme, o Options, leaderMetrics *leader.Metrics, lock *leader.Lock, onStale func(),
	probes *probes) error {
	probes.addHealthz("ping", healthz.Ping)

	writer := mgr.GetClient()
	if lock != nil {
		// Fence the controllers: no write unless the lease is fresh, and a
		// watchdog that stops a leader whose lease went stale.
		writer = leader.Fence(writer, lock, onStale)
		if err := mgr.Add(&leader.Watchdog{Lock: lock, Interval: min(o.RetryPeriod/4, 250*time.Millisecond), OnStale: onStale}); err != nil {
			return fmt.Errorf("add lease watchdog: %w", err)
		}
	}
	rec := &controller.Reconciler{Client: writer, Reader: mgr.GetAPIReader(), Scheme: scheme, Workers: o.ControllerWorkers}
	if err := rec.SetupWithManager(mgr); err != nil {
		return err
	}

	if !o.LeaderElect {
		// Without election this replica always leads.
		leaderMetrics.Leader.Set(1)
		log.Info("leading without leader election", "reason", "--leader-elect=false")
	}
	if o.LeaderElect && o.PodDeletionCost && o.PodName != "" && o.PodNamespace != "" {
		dc := &leader.DeletionCost{Kube: kube, Namespace: o.PodNamespace, Pod: o.PodName, Log: log}
		// A replica that crashed while leading still carries the cost.
		if err := dc.Clear(ctx); err != nil {
			log.Warn("clear stale pod deletion cost", "pod", o.PodName, "err", err)
		}
		if err := mgr.Add(dc); err != nil {
			return fmt.Errorf("add pod deletion cost: %w", err)
		}
	}
	return nil
}
