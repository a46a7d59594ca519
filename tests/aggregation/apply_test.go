//go:build linux

package aggregation

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// TestServerSideApplyThroughTheAggregator applies a Project as
// `kubectl apply --server-side` does, through the kube-apiserver: alice's
// apply creates it and makes her field manager the owner of what she set;
// bob's apply of another display name is a conflict naming alice's
// manager, as on any Kubernetes resource; forced, it takes the field; a
// status in an applied configuration is not recorded as the applier's. A
// change of members through the members subresource makes its manager
// their owner, so bob's next apply of the old members is a conflict with
// it, not a silent revert. A user who may patch but not create gets the
// same refusal for a Project that does not exist as for one they are not
// a member of.
// The managers live with the Project (in the CRD's
// management.primus.dev/managed-fields annotation), which the view hides.
func TestServerSideApplyThroughTheAggregator(t *testing.T) {
	p := installPlatform(t, 1)
	ctx := t.Context()
	apply := rbacv1.PolicyRule{APIGroups: []string{projects.Group}, Resources: []string{projects.Resource},
		Verbs: []string{"get", "list", "create", "patch", "update", "delete"}}
	members := rbacv1.PolicyRule{APIGroups: []string{projects.Group}, Resources: []string{projects.Resource + "/members"},
		Verbs: []string{"get", "update", "patch"}}
	grantRules(t, "agg-apply-"+p.ns, []rbacv1.PolicyRule{apply, members}, "alice", "bob")
	patchOnly := rbacv1.PolicyRule{APIGroups: []string{projects.Group}, Resources: []string{projects.Resource},
		Verbs: []string{"get", "patch"}}
	grantRules(t, "agg-apply-erin-"+p.ns, []rbacv1.PolicyRule{patchOnly}, "erin")

	name := "apply-" + p.ns
	deleteProject(t, name)
	applied := func(displayName string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": projects.GroupVersion().String(), "kind": "Project",
			"metadata": map[string]any{"name": name},
			"spec": map[string]any{"displayName": displayName, "members": []any{
				map[string]any{"kind": "User", "name": "alice", "role": "admin"},
				map[string]any{"kind": "User", "name": "bob", "role": "admin"},
			}},
		}}
	}

	first := applied("Alice's")
	first.Object["status"] = map[string]any{"phase": "Ready"}
	created, err := as(t, "alice").Apply(ctx, name, first, metav1.ApplyOptions{FieldManager: "alice-tool"})
	require.NoError(t, err, "alice's apply creates the Project")
	assert.Equal(t, "Alice's", displayName(created))
	entry := managerEntry(t, created, "alice-tool")
	assert.Equal(t, metav1.ManagedFieldsOperationApply, entry.Operation)
	assert.Equal(t, projects.GroupVersion().String(), entry.APIVersion, "the view's own version, not the CRD's")
	assert.Contains(t, string(entry.FieldsV1.Raw), `"f:displayName"`)
	assert.NotContains(t, string(entry.FieldsV1.Raw), `"f:status"`, "the status is the controller's, not the applier's")

	_, err = as(t, "bob").Apply(ctx, name, applied("Bob's"), metav1.ApplyOptions{FieldManager: "bob-tool"})
	require.Error(t, err, "bob's apply of a field alice's manager owns")
	assert.True(t, apierrors.IsConflict(err), "a 409 Conflict: %v", err)
	assert.Contains(t, err.Error(), `conflict with "alice-tool"`)
	assert.Contains(t, err.Error(), ".spec.displayName")

	unchanged, err := as(t, "alice").Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "Alice's", displayName(unchanged), "a refused apply changes nothing")

	forced, err := as(t, "bob").Apply(ctx, name, applied("Bob's"), metav1.ApplyOptions{FieldManager: "bob-tool", Force: true})
	require.NoError(t, err, "forced, bob's apply takes the field")
	assert.Equal(t, "Bob's", displayName(forced))
	assert.Contains(t, string(managerEntry(t, forced, "bob-tool").FieldsV1.Raw), `"f:displayName"`)
	if alice := findManager(forced, "alice-tool"); alice != nil {
		assert.NotContains(t, string(alice.FieldsV1.Raw), `"f:displayName"`, "alice's manager lost the field it was forced off")
	}

	// The storage has the change; the managers annotation is there, and
	// the view does not show it as an annotation.
	admin, err := dynamic.NewForConfig(testCluster.RESTConfig())
	require.NoError(t, err)
	stored, err := admin.Resource(crdProjects).Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "Bob's", displayName(stored))
	assert.Contains(t, stored.GetAnnotations(), "management.primus.dev/managed-fields")
	assert.NotContains(t, forced.GetAnnotations(), "management.primus.dev/managed-fields")

	// alice adds carol through the members subresource, as
	// `kubectl patch --subresource=members` does.
	addCarol := []byte(`[{"op":"add","path":"/members/-","value":{"kind":"User","name":"carol","role":"view"}}]`)
	_, err = as(t, "alice").Patch(ctx, name, types.JSONPatchType, addCarol, metav1.PatchOptions{FieldManager: "members-tool"}, "members")
	require.NoError(t, err, "alice adds carol")
	withCarol, err := as(t, "alice").Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	owner := managerEntry(t, withCarol, "members-tool")
	assert.Equal(t, "members", owner.Subresource)
	assert.Contains(t, string(owner.FieldsV1.Raw), `"f:members"`)
	assert.NotContains(t, string(managerEntry(t, withCarol, "bob-tool").FieldsV1.Raw), `"f:members"`, "bob's manager lost the members")

	_, err = as(t, "bob").Apply(ctx, name, applied("Bob's"), metav1.ApplyOptions{FieldManager: "bob-tool"})
	require.Error(t, err, "bob's apply of the members without carol")
	assert.True(t, apierrors.IsConflict(err), "a 409 Conflict: %v", err)
	assert.Contains(t, err.Error(), `conflict with "members-tool" with subresource "members"`)

	// erin may patch projects but not create them: applying a Project
	// that does not exist is refused as applying one that does.
	missing := applied("Erin's")
	missing.SetName("missing-" + p.ns)
	_, errMissing := as(t, "erin").Apply(ctx, missing.GetName(), missing, metav1.ApplyOptions{FieldManager: "erin-tool"})
	_, errExisting := as(t, "erin").Apply(ctx, name, applied("Erin's"), metav1.ApplyOptions{FieldManager: "erin-tool"})
	requireStatus(t, errMissing, metav1.StatusReasonForbidden, "erin applies a missing Project")
	requireStatus(t, errExisting, metav1.StatusReasonForbidden, "erin applies alice's Project")
	assert.Equal(t, strings.ReplaceAll(errExisting.Error(), name, "NAME"), strings.ReplaceAll(errMissing.Error(), "missing-"+p.ns, "NAME"),
		"the same refusal, whether or not the Project exists")
}

// displayName is spec.displayName of u.
func displayName(u *unstructured.Unstructured) string {
	s, _, _ := unstructured.NestedString(u.Object, "spec", "displayName")
	return s
}

// managerEntry is u's managedFields entry of manager, which must exist.
func managerEntry(t *testing.T, u *unstructured.Unstructured, manager string) metav1.ManagedFieldsEntry {
	t.Helper()
	e := findManager(u, manager)
	require.NotNil(t, e, "no managedFields entry of %s in %v", manager, u.GetManagedFields())
	require.NotNil(t, e.FieldsV1)
	return *e
}

// findManager is u's managedFields entry of manager, or nil.
func findManager(u *unstructured.Unstructured, manager string) *metav1.ManagedFieldsEntry {
	for _, e := range u.GetManagedFields() {
		if e.Manager == manager {
			return &e
		}
	}
	return nil
}
