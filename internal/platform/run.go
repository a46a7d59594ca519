package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"primus.dev/primus/internal/api"
	primusv1 "primus.dev/primus/internal/apis/primus/v1alpha1"
	"primus.dev/primus/internal/controller"
	"primus.dev/primus/internal/leader"
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
	// controller-runtime and client-go log through logr and klog; send both
	// to the same slog handler so there is one structured stream.
	logrLogger := logr.FromSlogHandler(log.Handler())
	ctrllog.SetLogger(logrLogger)
	klog.SetLogger(logrLogger)

	cfg, err := restConfig(o.Kubeconfig)
	if err != nil {
		return err
	}
	scheme, err := newScheme()
	if err != nil {
		return err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	leaderMetrics, err := leader.NewMetrics(ctrlmetrics.Registry)
	if err != nil {
		return err
	}
	// The lock adds identity and lease to its own lines.
	lock, err := prepareElection(ctx, log, kube, o, leaderMetrics)
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
	onStale := func() {
		staleOnce.Do(func() {
			lock.LostBecause(fmt.Sprintf("lease not renewed within the renew deadline: the last renewal began %s ago (deadline %s); the process was paused or the API server was unreachable, and another replica may hold it; stopping before any further write",
				lock.Staleness(), o.RenewDeadline))
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

	mgr, err := newManager(cfg, scheme, logrLogger, o, lock)
	if err != nil {
		return err
	}
	if lock != nil {
		//nolint:staticcheck // client-go's resource lock takes the old events API.
		lock.SetEventRecorder(mgr.GetEventRecorderFor(o.Identity))
	}
	srv, err := addComponents(ctx, log, mgr, kube, cfg, scheme, o, leaderMetrics, lock, onStale)
	if err != nil {
		return err
	}
	apiDone := make(chan error, 1)
	go func() { apiDone <- srv.Start(apiCtx) }()

	if err := mgr.AddReadyzCheck("shutdown", func(*http.Request) error {
		if draining.Load() {
			return errors.New("shutting down")
		}
		return nil
	}); err != nil {
		return fmt.Errorf("add readyz check: %w", err)
	}

	log.Info("primus starting", "leader-elect", o.LeaderElect,
		"lease", o.LeaderElectionNamespace+"/"+o.LeaderElectionID, "api", o.APIBindAddress)
	err = mgr.Start(ctx)
	if err != nil {
		cancelAPI()
	}
	if apiErr := <-apiDone; apiErr != nil && err == nil {
		err = apiErr
	}
	switch {
	case errors.Is(context.Cause(ctx), ErrLeadershipLost):
		return fmt.Errorf("%w: lease not renewed within the renew deadline", ErrLeadershipLost)
	case err != nil && lock != nil && strings.Contains(err.Error(), "leader election lost"):
		lock.Lost()
		return fmt.Errorf("%w: %s", ErrLeadershipLost, lock.LostReason())
	case err != nil:
		return fmt.Errorf("run manager: %w", err)
	}
	log.Info("primus stopped")
	return nil
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
		Identity: o.Identity, Log: log, Metrics: m, RenewDeadline: o.RenewDeadline,
	}
	// Running as a Pod (the chart grants get on pods with the deletion
	// cost): never take the Lease while that Pod is being deleted.
	if o.PodDeletionCost && o.PodName != "" && o.PodNamespace != "" {
		if _, err := kube.CoreV1().Pods(o.PodNamespace).Get(ctx, o.PodName, metav1.GetOptions{}); err == nil {
			opts.MayAcquire = leader.PodNotStopping(kube, o.PodNamespace, o.PodName)
		}
	}
	return leader.NewLock(kube, opts)
}

// newManager builds the controller-runtime manager.
func newManager(cfg *rest.Config, scheme *runtime.Scheme, logger logr.Logger, o Options, lock *leader.Lock) (manager.Manager, error) {
	opts := manager.Options{
		Scheme:                  scheme,
		Logger:                  logger,
		Metrics:                 metricsserver.Options{BindAddress: o.MetricsBindAddress},
		HealthProbeBindAddress:  o.HealthProbeBindAddress,
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

// addComponents builds the API server (returned: it runs beside the
// manager, on its own context) and adds the health checks, the controller
// and the deletion-cost marker to mgr.
func addComponents(ctx context.Context, log *slog.Logger, mgr manager.Manager, kube kubernetes.Interface,
	cfg *rest.Config, scheme *runtime.Scheme, o Options, leaderMetrics *leader.Metrics, lock *leader.Lock, onStale func()) (*api.Server, error) {
	// The API reads and writes Projects directly, not through the
	// manager's cache: a non-leader has no informers, and a reply must
	// reflect a write that just happened.
	projects, err := client.New(cfg, client.Options{Scheme: scheme, HTTPClient: mgr.GetHTTPClient(), Mapper: mgr.GetRESTMapper()})
	if err != nil {
		return nil, fmt.Errorf("projects client: %w", err)
	}
	apiMetrics, err := api.NewMetrics(ctrlmetrics.Registry)
	if err != nil {
		return nil, err
	}
	reader := &leader.Reader{Kube: kube, Identity: o.Identity}
	if o.LeaderElect {
		reader.Namespace, reader.Name = o.LeaderElectionNamespace, o.LeaderElectionID
	}
	srv, err := api.NewServer(api.Options{
		Addr:     o.APIBindAddress,
		CertDir:  o.TLSCertDir,
		Projects: projects,
		Kube:     kube,
		Leader:   reader,
		Metrics:  apiMetrics,
		Log:      log.With("component", "api"),
		Ping: func(ctx context.Context) error {
			return kube.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Error()
		},
	})
	if err != nil {
		return nil, err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, fmt.Errorf("add healthz check: %w", err)
	}
	if err := mgr.AddReadyzCheck("api", srv.Ready); err != nil {
		return nil, fmt.Errorf("add readyz check: %w", err)
	}

	writer := mgr.GetClient()
	if lock != nil {
		// Fence the controllers: no write unless the lease is fresh, and a
		// watchdog that stops a leader whose lease went stale.
		writer = leader.Fence(writer, lock, onStale)
		if err := mgr.Add(&leader.Watchdog{Lock: lock, Interval: min(o.RetryPeriod/4, 250*time.Millisecond), OnStale: onStale}); err != nil {
			return nil, fmt.Errorf("add lease watchdog: %w", err)
		}
	}
	rec := &controller.Reconciler{Client: writer, Reader: mgr.GetAPIReader(), Scheme: scheme}
	if err := rec.SetupWithManager(mgr); err != nil {
		return nil, err
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
			return nil, fmt.Errorf("add pod deletion cost: %w", err)
		}
	}
	return srv, nil
}
