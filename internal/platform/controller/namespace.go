package controller

import (
	"context"
	"fmt"
	"log/slog"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// conflictError says the project's namespace exists and is not the
// project's: the controller never adopts, and so never deletes, a namespace
// it did not create.
type conflictError struct {
	namespace, owner string
}

func (e *conflictError) Error() string {
	if e.owner == "" {
		return fmt.Sprintf("namespace %s already exists and was not created by Primus", e.namespace)
	}
	return fmt.Sprintf("namespace %s already exists and belongs to project %s", e.namespace, e.owner)
}

// ownLabels are the labels of every object the controller creates for p.
func ownLabels(p *primusv1.Project) map[string]string {
	return map[string]string{
		primusv1.LabelProject:   p.Name,
		primusv1.LabelManagedBy: primusv1.ManagedBy,
	}
}

// ensureNamespace creates the project namespace, or brings the labels and
// owner reference of the existing one up to date. It returns a
// *conflictError when the namespace is not the project's.
//
// The namespace carries both the project label (what the controller finds
// and watches it by) and a controller owner reference to the Project
// (allowed: both are cluster-scoped). The finalizer does the cleanup; the
// owner reference is a backstop so that the garbage collector still
// removes the namespace if someone strips the finalizer by hand.
func (r *Reconciler) ensureNamespace(ctx context.Context, p *primusv1.Project) (*corev1.Namespace, error) {
	ns, err := r.getOrCreateNamespace(ctx, p)
	if err != nil {
		return nil, err
	}
	if owner := ns.Labels[primusv1.LabelProject]; owner != p.Name {
		return nil, &conflictError{namespace: ns.Name, owner: owner}
	}
	if !ns.DeletionTimestamp.IsZero() {
		return ns, nil
	}
	// The namespace is ours; it may be from an earlier Project of the same
	// name whose cleanup never ran. Point its owner reference at this one.
	before := ns.DeepCopy()
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	maps.Copy(ns.Labels, ownLabels(p))
	ns.OwnerReferences = nil
	if err := controllerutil.SetControllerReference(p, ns, r.Scheme); err != nil {
		return nil, fmt.Errorf("namespace %s: %w", ns.Name, err)
	}
	if equality.Semantic.DeepEqual(before.ObjectMeta, ns.ObjectMeta) {
		return ns, nil
	}
	if err := r.Client.Update(ctx, ns); err != nil {
		return nil, fmt.Errorf("update namespace %s: %w", ns.Name, err)
	}
	return ns, nil
}

// getOrCreateNamespace returns the project namespace, creating it when it
// does not exist, in as few API calls as it can: the manager's cache holds
// every namespace labelled for a project, so a namespace found there needs
// no request, and one missing there is created straight away (no live
// read first: in a backlog of new Projects that read would be one request
// per Project for a 404). Only when the create finds the name taken (a
// namespace someone else made, which the cache does not hold, or one the
// cache has not caught up with) is the namespace read from the API server,
// for the caller to check whose it is.
func (r *Reconciler) getOrCreateNamespace(ctx context.Context, p *primusv1.Project) (*corev1.Namespace, error) {
	name := primusv1.NamespaceName(p.Name)
	ns := &corev1.Namespace{}
	err := r.Client.Get(ctx, client.ObjectKey{Name: name}, ns)
	switch {
	case err == nil:
		return ns, nil
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("get namespace %s: %w", name, err)
	}
	ns = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: ownLabels(p)}}
	if err := controllerutil.SetControllerReference(p, ns, r.Scheme); err != nil {
		return nil, fmt.Errorf("namespace %s: %w", name, err)
	}
	err = r.Client.Create(ctx, ns)
	switch {
	case err == nil:
		return ns, nil
	case !apierrors.IsAlreadyExists(err):
		return nil, fmt.Errorf("create namespace %s: %w", name, err)
	}
	ns = &corev1.Namespace{}
	if err := r.Reader.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		return nil, fmt.Errorf("get namespace %s: %w", name, err)
	}
	return ns, nil
}

// deleteNamespace deletes the project namespace if it is the project's and
// reports whether it is gone.
func (r *Reconciler) deleteNamespace(ctx context.Context, logger *slog.Logger, p *primusv1.Project) (bool, error) {
	name := primusv1.NamespaceName(p.Name)
	ns := &corev1.Namespace{}
	err := r.Reader.Get(ctx, client.ObjectKey{Name: name}, ns)
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("get namespace %s: %w", name, err)
	}
	if ns.Labels[primusv1.LabelProject] != p.Name {
		// Not ours (never adopted): leave it alone.
		return true, nil
	}
	if !ns.DeletionTimestamp.IsZero() {
		return false, nil
	}
	err = r.Client.Delete(ctx, ns, client.Preconditions{UID: &ns.UID})
	switch {
	case apierrors.IsNotFound(err):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("delete namespace %s: %w", name, err)
	}
	logger.Info("namespace deleted", "projectNamespace", name)
	// Deletion is asynchronous unless nothing holds the namespace; look again.
	err = r.Reader.Get(ctx, client.ObjectKey{Name: name}, ns)
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	return false, client.IgnoreNotFound(err)
}
