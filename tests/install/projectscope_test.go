package install

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// TestProjectScopePolicy installs the chart and acts with its
// ServiceAccount's token, as the platform's controller does: a Project
// namespace with the controller's labels, a RoleBinding to admin and a
// ResourceQuota in it are admitted; the same writes outside Project
// namespaces, and bindings of other roles, are refused by the chart's
// ValidatingAdmissionPolicy although the ClusterRole allows them.
func TestProjectScopePolicy(t *testing.T) {
	r := newRelease(t, nil)
	r.install(nil)
	ctx := t.Context()
	platform, err := kubernetes.NewForConfig(r.serviceAccountConfig())
	require.NoError(t, err)

	project := primusv1.NamespaceName("scope-" + r.namespace[len("primus-"):])
	labels := map[string]string{primusv1.LabelProject: "scope", primusv1.LabelManagedBy: primusv1.ManagedBy}
	binding := func(ns, kind, role string) *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "scope-", Namespace: ns, Labels: labels},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: role},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "alice"}},
		}
	}
	quota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{GenerateName: "scope-", Labels: labels},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")}}}
	t.Cleanup(func() { _ = r.client.CoreV1().Namespaces().Delete(ctx, project, metav1.DeleteOptions{}) })

	// The policy takes effect once the API server has loaded it: wait
	// for the first refusal, then require every other outcome.
	var refused error
	require.Eventually(t, func() bool {
		rb, err := platform.RbacV1().RoleBindings(metav1.NamespaceSystem).Create(ctx, binding(metav1.NamespaceSystem, "ClusterRole", "admin"), metav1.CreateOptions{})
		if err == nil {
			_ = r.client.RbacV1().RoleBindings(metav1.NamespaceSystem).Delete(ctx, rb.Name, metav1.DeleteOptions{})
			return false
		}
		refused = err
		return true
	}, 30*time.Second, 200*time.Millisecond, "the ServiceAccount could bind admin in kube-system")
	assert.True(t, apierrors.IsInvalid(refused) || apierrors.IsForbidden(refused), "refused by admission: %v", refused)
	assert.Contains(t, refused.Error(), "only write rolebindings in Project namespaces")
	assert.Contains(t, refused.Error(), "not in kube-system")

	_, err = platform.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: project, Labels: labels}}, metav1.CreateOptions{})
	require.NoError(t, err, "a Project namespace with the controller's labels is admitted")

	cases := []struct {
		name    string
		write   func() error
		refused string // "" means admitted
	}{
		{name: "admin in a Project namespace", write: func() error {
			_, err := platform.RbacV1().RoleBindings(project).Create(ctx, binding(project, "ClusterRole", "admin"), metav1.CreateOptions{})
			return err
		}},
		{name: "view in a Project namespace", write: func() error {
			_, err := platform.RbacV1().RoleBindings(project).Create(ctx, binding(project, "ClusterRole", "view"), metav1.CreateOptions{})
			return err
		}},
		{name: "a quota in a Project namespace", write: func() error {
			_, err := platform.CoreV1().ResourceQuotas(project).Create(ctx, quota, metav1.CreateOptions{})
			return err
		}},
		{name: "a Role (not admin, edit or view) in a Project namespace", refused: "only bind the ClusterRoles admin, edit and view, not Role empty", write: func() error {
			// A Role with no rules: binding it escalates nothing, so RBAC
			// alone would admit it.
			_, err := r.client.RbacV1().Roles(project).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "empty"}}, metav1.CreateOptions{})
			require.NoError(t, err)
			_, err = platform.RbacV1().RoleBindings(project).Create(ctx, binding(project, "Role", "empty"), metav1.CreateOptions{})
			return err
		}},
		{name: "a quota in the release namespace", refused: "only write resourcequotas in Project namespaces", write: func() error {
			_, err := platform.CoreV1().ResourceQuotas(r.namespace).Create(ctx, quota, metav1.CreateOptions{})
			return err
		}},
		{name: "a namespace without the Project labels", refused: "only create, change or delete Project namespaces", write: func() error {
			_, err := platform.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "not-a-project-"}}, metav1.CreateOptions{})
			return err
		}},
		{name: "deleting the release namespace", refused: "only create, change or delete Project namespaces", write: func() error {
			return platform.CoreV1().Namespaces().Delete(ctx, r.namespace, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.write()
			if tc.refused == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.True(t, strings.Contains(err.Error(), tc.refused), "want %q, got %v", tc.refused, err)
		})
	}
	require.NoError(t, platform.CoreV1().Namespaces().Delete(ctx, project, metav1.DeleteOptions{}), "the platform deletes its Project namespace")
}

// serviceAccountConfig is a REST config that authenticates as the chart's
// ServiceAccount (a TokenRequest token), as the platform's pods do.
func (r *release) serviceAccountConfig() *rest.Config {
	r.t.Helper()
	tok, err := r.client.CoreV1().ServiceAccounts(r.namespace).CreateToken(r.t.Context(), r.name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}, metav1.CreateOptions{})
	require.NoError(r.t, err)
	cfg := rest.AnonymousClientConfig(testCluster.RESTConfig())
	cfg.BearerToken = tok.Status.Token
	return cfg
}
