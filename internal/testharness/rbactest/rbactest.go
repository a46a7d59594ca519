// Package rbactest grants RBAC to test users: a ClusterRole and its
// ClusterRoleBinding, removed when the test ends. It is for tests only.
package rbactest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// User is the RBAC subject of a user name.
func User(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: name}
}

// ServiceAccount is the RBAC subject of ServiceAccount namespace/name.
func ServiceAccount(namespace, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: name}
}

// GrantCluster gives subjects rules cluster-wide: a ClusterRole and a
// ClusterRoleBinding, both called name, deleted at the test's cleanup. It
// returns once the kube-apiserver's authorizer allows what it granted (its
// RBAC informer lags the writes a little), so a request right after it is
// not refused, nor its refusal cached by a delegating authorizer.
func GrantCluster(t testing.TB, kube kubernetes.Interface, name string, rules []rbacv1.PolicyRule, subjects ...rbacv1.Subject) {
	t.Helper()
	rbac := kube.RbacV1()
	_, err := rbac.ClusterRoles().Create(t.Context(), &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules:      rules,
	}, metav1.CreateOptions{})
	require.NoError(t, err, "create ClusterRole %s", name)
	t.Cleanup(func() { _ = rbac.ClusterRoles().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	_, err = rbac.ClusterRoleBindings().Create(t.Context(), &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects:   subjects,
	}, metav1.CreateOptions{})
	require.NoError(t, err, "create ClusterRoleBinding %s", name)
	t.Cleanup(func() { _ = rbac.ClusterRoleBindings().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	waitAllowed(t, kube, rules, subjects)
}

// waitAllowed waits until a SubjectAccessReview allows each subject the
// first verb on the first resource (and resource name) of each rule.
func waitAllowed(t testing.TB, kube kubernetes.Interface, rules []rbacv1.PolicyRule, subjects []rbacv1.Subject) {
	t.Helper()
	for _, s := range subjects {
		for _, r := range rules {
			if len(r.Verbs) == 0 || len(r.Resources) == 0 || len(r.APIGroups) == 0 || r.Verbs[0] == "*" || r.Resources[0] == "*" {
				continue
			}
			review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: r.Verbs[0], Group: r.APIGroups[0], Resource: r.Resources[0]},
			}}
			switch s.Kind {
			case rbacv1.UserKind:
				review.Spec.User = s.Name
			case rbacv1.GroupKind:
				review.Spec.User, review.Spec.Groups = "rbactest-member", []string{s.Name}
			case rbacv1.ServiceAccountKind:
				review.Spec.User = "system:serviceaccount:" + s.Namespace + ":" + s.Name
			}
			attrs := review.Spec.ResourceAttributes
			attrs.Resource, attrs.Subresource, _ = strings.Cut(attrs.Resource, "/")
			if len(r.ResourceNames) > 0 {
				attrs.Name = r.ResourceNames[0]
			}
			require.Eventually(t, func() bool {
				got, err := kube.AuthorizationV1().SubjectAccessReviews().Create(t.Context(), review, metav1.CreateOptions{})
				return err == nil && got.Status.Allowed
			}, 30*time.Second, 20*time.Millisecond, "the kube-apiserver never allowed %s %s %v", review.Spec.User, r.Verbs[0], review.Spec.ResourceAttributes)
		}
	}
}
