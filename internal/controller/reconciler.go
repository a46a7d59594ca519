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
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	primusv1 "primus.dev/primus/internal/apis/primus/v1alpha1"
)

// DefaultRequeueAfter is how long the Reconciler waits before looking
// again at a namespace that is still terminating.
const DefaultRequeueAfter = 2 * time.Second

// Reconciler reconciles one Project at a time.
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
}

// SetupWithManager registers the Reconciler with mgr: it reconciles a
// Project when it changes and when any object labelled for it does.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	byLabel := handler.EnqueueRequestsFromMapFunc(projectOf)
	err := ctrl.NewControllerManagedBy(mgr).
		Named("project").
		For(&primusv1.Project{}).
		Watches(&corev1.Namespace{}, byLabel).
		Watches(&rbacv1.RoleBinding{}, byLabel).
		Watches(&corev1.ResourceQuota{}, byLabel).
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
	if controllerutil.AddFinalizer(&p, primusv1.FinalizerCleanup) {
		if err := r.Client.Update(ctx, &p); err != nil {
			return reconcile.Result{}, fmt.Errorf("add finalizer to project %s: %w", p.Name, err)
		}
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
	controllerutil.RemoveFinalizer(p, primusv1.FinalizerCleanup)
	if err := r.Client.Update(ctx, p); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(fmt.Errorf("remove finalizer from project %s: %w", p.Name, err))
	}
	logger.Info("project cleaned up")
	return reconcile.Result{}, nil
}

func (r *Reconciler) requeueAfter() time.Duration {
	if r.RequeueAfter > 0 {
		return r.RequeueAfter
	}
	return DefaultRequeueAfter
}
