package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crcontroller "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// DefaultRequeueAfter is how long the Reconciler waits before looking
// again at a namespace that is still terminating.
const DefaultRequeueAfter = 2 * time.Second

// DefaultWorkers is how many Projects the controller reconciles at once
// when Reconciler.Workers is zero.
const DefaultWorkers = 4

// errStaleCache says an object in the manager's cache lags behind the API
// server in a way the reconcile cannot work around; the retry, after the
// cache's event, does.
var errStaleCache = errors.New("the cache has not caught up yet")

// Reconciler reconciles Projects, up to Workers at a time. The workqueue
// hands one Project to at most one worker at once, and every step is
// idempotent, so a retry after a conflict or a stale cache converges.
type Reconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// Reader reads from the API server directly. The namespace check uses it:
	// the cache only holds namespaces labelled for a project, and a
	// namespace someone else created must be seen to be refused.
	Reader client.Reader
	// Scheme knows Project, for the Namespace's owner reference.
	Scheme *runtime.Scheme
	// RequeueAfter is the wait for a terminating namespace; zero means
	// DefaultRequeueAfter.
	RequeueAfter time.Duration
	// Workers is how many Projects are reconciled concurrently; zero means
	// DefaultWorkers.
	Workers int
}

// SetupWithManager registers the Reconciler with mgr: it reconciles a
// Project when it changes and when any object labelled for it does.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	byLabel := handler.EnqueueRequestsFromMapFunc(projectOf)
	err := ctrl.NewControllerManagedBy(mgr).
		Named("project").
		WithOptions(crcontroller.Options{MaxConcurrentReconciles: r.workers()}).
		For(&primusv1.Project{}, builder.WithPredicates(notStatusOnly)).
		Watches(&corev1.Namespace{}, byLabel).
		Watches(&rbacv1.RoleBinding{}, byLabel).
		Watches(&corev1.ResourceQuota{}, byLabel, builder.WithPredicates(notStatusOnly)).
		Complete(r)
	if err != nil {
		return fmt.Errorf("set up project controller: %w", err)
	}
	return nil
}

// projectOf maps an object labelled primus.dev/project=<name> to the
// reconcile request of that Project.
func projectOf(_ context.Context, obj client.Object) []reconcile.Request {
	name := obj.GetLabels()[primusv1.LabelProject]
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: name}}}
}

// Reconcile brings one Project's namespace, RoleBindings and quota in line
// with its spec, or cleans them up when it is being deleted.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	// controller-runtime's logger already names the Project ("name").
	logger := slog.New(logr.ToSlogHandler(log.FromContext(ctx)))

	var p primusv1.Project
	if err := r.Client.Get(ctx, req.NamespacedName, &p); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !p.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, logger, &p)
	}
	if err := r.addFinalizer(ctx, &p); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !p.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, logger, &p)
	}

	if err := p.Validate(); err != nil {
		logger.Warn("project spec invalid", "err", err)
		return reconcile.Result{}, r.setStatus(ctx, &p, primusv1.PhaseFailed, "", "InvalidSpec", err.Error())
	}

	ns, err := r.ensureNamespace(ctx, &p)
	var conflict *conflictError
	switch {
	case errors.As(err, &conflict):
		logger.Warn("namespace belongs to someone else", "projectNamespace", conflict.namespace, "owner", conflict.owner)
		return reconcile.Result{RequeueAfter: time.Minute},
			r.setStatus(ctx, &p, primusv1.PhaseFailed, "", "NamespaceConflict", err.Error())
	case err != nil:
		return reconcile.Result{}, err
	case !ns.DeletionTimestamp.IsZero():
		msg := fmt.Sprintf("namespace %s is still terminating from an earlier project %s", ns.Name, p.Name)
		return reconcile.Result{RequeueAfter: r.requeueAfter()},
			r.setStatus(ctx, &p, primusv1.PhasePending, "", "NamespaceTerminating", msg)
	}

	bindings, err := r.ensureRoleBindings(ctx, logger, &p)
	if err != nil {
		return reconcile.Result{}, err
	}
	if err := r.ensureQuota(ctx, logger, &p); err != nil {
		return reconcile.Result{}, err
	}
	msg := fmt.Sprintf("namespace %s with %d RoleBindings and %d quota resources", ns.Name, bindings, len(p.Spec.Quota))
	return reconcile.Result{}, r.setStatus(ctx, &p, primusv1.PhaseReady, ns.Name, "Reconciled", msg)
}

// addFinalizer adds the cleanup finalizer to p unless it has it (the API
// creates Projects with it; one made another way gets it here). A conflict
// means the cache is behind: p is read again from the API server and the
// update retried once, rather than failing into the workqueue's backoff.
func (r *Reconciler) addFinalizer(ctx context.Context, p *primusv1.Project) error {
	if !controllerutil.AddFinalizer(p, primusv1.FinalizerCleanup) {
		return nil
	}
	err := r.Client.Update(ctx, p)
	if !apierrors.IsConflict(err) {
		return wrapf(err, "add finalizer to project %s", p.Name)
	}
	if err := r.Reader.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
		return fmt.Errorf("get project %s: %w", p.Name, err)
	}
	if !p.DeletionTimestamp.IsZero() || !controllerutil.AddFinalizer(p, primusv1.FinalizerCleanup) {
		// Being deleted (the caller finalizes), or the finalizer is there.
		return nil
	}
	return wrapf(r.Client.Update(ctx, p), "add finalizer to project %s", p.Name)
}

// wrapf wraps a non-nil err with the formatted context; nil stays nil.
func wrapf(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// finalize deletes the project's namespace and, once it is gone, removes
// the finalizer so the Project can go.
func (r *Reconciler) finalize(ctx context.Context, logger *slog.Logger, p *primusv1.Project) (reconcile.Result, error) {
	if !controllerutil.ContainsFinalizer(p, primusv1.FinalizerCleanup) {
		return reconcile.Result{}, nil
	}
	gone, err := r.deleteNamespace(ctx, logger, p)
	if err != nil {
		return reconcile.Result{}, err
	}
	if !gone {
		msg := fmt.Sprintf("waiting for namespace %s to be deleted", primusv1.NamespaceName(p.Name))
		return reconcile.Result{RequeueAfter: r.requeueAfter()},
			r.setStatus(ctx, p, primusv1.PhaseTerminating, p.Status.Namespace, "Terminating", msg)
	}
	if err := r.removeFinalizer(ctx, p); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	logger.Info("project cleaned up")
	return reconcile.Result{}, nil
}

// removeFinalizer removes the cleanup finalizer from p. As in addFinalizer,
// a conflict (the cache behind, typically by the status patch of the
// reconcile before) is retried once on the API server's copy.
func (r *Reconciler) removeFinalizer(ctx context.Context, p *primusv1.Project) error {
	if !controllerutil.RemoveFinalizer(p, primusv1.FinalizerCleanup) {
		return nil
	}
	err := r.Client.Update(ctx, p)
	if !apierrors.IsConflict(err) {
		return wrapf(err, "remove finalizer from project %s", p.Name)
	}
	if err := r.Reader.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
		return fmt.Errorf("get project %s: %w", p.Name, err)
	}
	if !controllerutil.RemoveFinalizer(p, primusv1.FinalizerCleanup) {
		return nil
	}
	return wrapf(r.Client.Update(ctx, p), "remove finalizer from project %s", p.Name)
}

func (r *Reconciler) requeueAfter() time.Duration {
	if r.RequeueAfter > 0 {
		return r.RequeueAfter
	}
	return DefaultRequeueAfter
}

func (r *Reconciler) workers() int {
	if r.Workers > 0 {
		return r.Workers
	}
	return DefaultWorkers
}
