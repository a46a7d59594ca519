//go:build linux

package aggregation

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// TestMembersSubresource adds and removes a member through
// projects/{name}/members, with the authorization the cluster applies to a
// subresource (RBAC on projects/members) and the project's own (its admin
// role): alice, admin of her project, adds bob as a viewer with a JSON
// patch, as `kubectl patch --subresource=members` sends it; bob then lists
// the project with role view, and, with the same RBAC, may not change
// the members (his role is view); dave, who may use projects but not
// projects/members, is refused by the cluster's RBAC; alice removes bob.
// The management API's audit log (managementAPI.audit.enabled) records
// alice's change.
func TestMembersSubresource(t *testing.T) {
	p := installPlatform(t, 1, "managementAPI.audit.enabled=true")
	ctx := t.Context()
	members := rbacv1.PolicyRule{APIGroups: []string{projects.Group}, Resources: []string{projects.Resource + "/members"},
		Verbs: []string{"get", "update", "patch"}}
	grantRules(t, "agg-members-"+p.ns, []rbacv1.PolicyRule{selfService, members}, "alice", "bob")
	grant(t, "agg-members-dave-"+p.ns, "dave")

	name := "members-" + p.ns
	deleteProject(t, name)
	_, err := as(t, "alice").Create(ctx, project(name, map[string]string{"alice": "admin"}), metav1.CreateOptions{})
	require.NoError(t, err)

	got, err := as(t, "alice").Get(ctx, name, metav1.GetOptions{}, "members")
	require.NoError(t, err, "alice reads the members")
	assert.Equal(t, "ProjectMembers", got.GetKind())
	assert.Equal(t, []any{map[string]any{"kind": "User", "name": "alice", "role": "admin"}}, got.Object["members"])

	addBob := []byte(`[{"op":"add","path":"/members/-","value":{"kind":"User","name":"bob","role":"view"}}]`)
	patched, err := as(t, "alice").Patch(ctx, name, types.JSONPatchType, addBob, metav1.PatchOptions{}, "members")
	require.NoError(t, err, "alice, admin, adds bob")
	assert.Len(t, patched.Object["members"], 2)

	bobsView, err := as(t, "bob").Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err, "bob is a member now")
	r, _, _ := unstructured.NestedString(bobsView.Object, "status", "role")
	assert.Equal(t, "view", r)

	addCarol := []byte(`[{"op":"add","path":"/members/-","value":{"kind":"User","name":"carol","role":"admin"}}]`)
	_, err = as(t, "bob").Patch(ctx, name, types.JSONPatchType, addCarol, metav1.PatchOptions{}, "members")
	requireStatus(t, err, metav1.StatusReasonForbidden, "bob, a viewer, changes the members")

	_, err = as(t, "dave").Patch(ctx, name, types.JSONPatchType, addCarol, metav1.PatchOptions{}, "members")
	requireStatus(t, err, metav1.StatusReasonForbidden, "dave, without RBAC on projects/members")
	assert.Contains(t, err.Error(), `cannot patch resource "projects/members"`, "the cluster's RBAC decided")

	// The management API audits the change as the kube-apiserver would:
	// who, what, and (the chart's default policy for members) the patch
	// and the result.
	ev := p.waitAuditEvent(t, func(e *auditv1.Event) bool {
		return e.User.Username == "alice" && e.Verb == "patch" && e.ObjectRef != nil &&
			e.ObjectRef.Resource == "projects" && e.ObjectRef.Subresource == "members" && e.ObjectRef.Name == name
	})
	assert.Equal(t, auditv1.LevelRequestResponse, ev.Level)
	assert.Equal(t, auditv1.StageResponseComplete, ev.Stage)
	require.NotNil(t, ev.ResponseStatus)
	assert.EqualValues(t, 200, ev.ResponseStatus.Code)
	require.NotNil(t, ev.RequestObject, "the patch is in the event")
	assert.Contains(t, string(ev.RequestObject.Raw), `"bob"`)

	removeBob := []byte(`[{"op":"test","path":"/members/1/name","value":"bob"},{"op":"remove","path":"/members/1"}]`)
	_, err = as(t, "alice").Patch(ctx, name, types.JSONPatchType, removeBob, metav1.PatchOptions{}, "members")
	require.NoError(t, err, "alice removes bob")
	_, err = as(t, "bob").Get(ctx, name, metav1.GetOptions{})
	requireStatus(t, err, metav1.StatusReasonForbidden, "bob, no member any more")
}
