package controller

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// desiredRoleBindings returns the RoleBindings p's members need, by name.
func desiredRoleBindings(p *primusv1.Project) map[string]*rbacv1.RoleBinding {
	ns := primusv1.NamespaceName(p.Name)
	out := make(map[string]*rbacv1.RoleBinding, len(p.Spec.Members))
	for _, m := range p.Spec.Members {
		subject := rbacv1.Subject{Kind: string(m.Kind), Name: m.Name}
		if m.Kind == primusv1.MemberServiceAccount {
			subject.Namespace = m.Namespace
		} else {
			subject.APIGroup = rbacv1.GroupName
		}
		name := primusv1.RoleBindingName(m)
		out[name] = &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: ownLabels(p)},
			Subjects:   []rbacv1.Subject{subject},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: string(m.Role)},
		}
	}
	return out
}

// ensureRoleBindings makes the RoleBindings labelled for p exactly the ones
// its members need: it creates missing ones, repairs changed ones and
// deletes those of members that were removed. It returns how many exist.
func (r *Reconciler) ensureRoleBindings(ctx context.Context, logger *slog.Logger, p *primusv1.Project) (int, error) {
	ns := primusv1.NamespaceName(p.Name)
	var list rbacv1.RoleBindingList
	if err := r.Client.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{primusv1.LabelProject: p.Name}); err != nil {
		return 0, fmt.Errorf("list rolebindings in %s: %w", ns, err)
	}
	existing := make(map[string]*rbacv1.RoleBinding, len(list.Items))
	for i := range list.Items {
		existing[list.Items[i].Name] = &list.Items[i]
	}
	desired := desiredRoleBindings(p)

	for _, name := range slices.Sorted(maps.Keys(desired)) {
		if err := r.applyRoleBinding(ctx, logger, desired[name], existing[name]); err != nil {
			return 0, err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(existing)) {
		if _, keep := desired[name]; keep {
			continue
		}
		if err := r.Client.Delete(ctx, existing[name]); client.IgnoreNotFound(err) != nil {
			return 0, fmt.Errorf("delete rolebinding %s/%s: %w", ns, name, err)
		}
		logger.Info("rolebinding deleted", "projectNamespace", ns, "rolebinding", name)
	}
	return len(desired), nil
}

// applyRoleBinding creates want, or updates have to match it. A RoleBinding
// whose roleRef differs is deleted and recreated: roleRef is immutable.
func (r *Reconciler) applyRoleBinding(ctx context.Context, logger *slog.Logger, want, have *rbacv1.RoleBinding) error {
	if have != nil && have.RoleRef != want.RoleRef {
		if err := r.Client.Delete(ctx, have); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete rolebinding %s/%s: %w", have.Namespace, have.Name, err)
		}
		have = nil
	}
	if have == nil {
		err := r.Client.Create(ctx, want)
		switch {
		case err == nil:
			logger.Info("rolebinding created", "projectNamespace", want.Namespace, "rolebinding", want.Name, "role", want.RoleRef.Name)
			return nil
		case !apierrors.IsAlreadyExists(err):
			return fmt.Errorf("create rolebinding %s/%s: %w", want.Namespace, want.Name, err)
		}
		// The cache has not caught up with an earlier create (of this
		// reconcile's predecessor): read the RoleBinding from the API
		// server and carry on with it, rather than fail and wait out the
		// workqueue's backoff.
		have = &rbacv1.RoleBinding{}
		if err := r.Reader.Get(ctx, client.ObjectKeyFromObject(want), have); err != nil {
			return fmt.Errorf("get rolebinding %s/%s: %w", want.Namespace, want.Name, err)
		}
		if have.RoleRef != want.RoleRef {
			// Recreated with another role since: the next reconcile, on
			// the cache's event for it, replaces it.
			return fmt.Errorf("rolebinding %s/%s has role %s, want %s: %w", want.Namespace, want.Name, have.RoleRef.Name, want.RoleRef.Name, errStaleCache)
		}
	}
	if equality.Semantic.DeepEqual(have.Subjects, want.Subjects) && labelsContain(have.Labels, want.Labels) {
		return nil
	}
	updated := have.DeepCopy()
	updated.Subjects = want.Subjects
	if updated.Labels == nil {
		updated.Labels = map[string]string{}
	}
	maps.Copy(updated.Labels, want.Labels)
	if err := r.Client.Update(ctx, updated); err != nil {
		return fmt.Errorf("update rolebinding %s/%s: %w", want.Namespace, want.Name, err)
	}
	logger.Info("rolebinding updated", "projectNamespace", want.Namespace, "rolebinding", want.Name)
	return nil
}

// labelsContain reports whether have holds every label of want.
func labelsContain(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
