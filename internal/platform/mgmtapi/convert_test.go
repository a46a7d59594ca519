package mgmtapi

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	mgmtv1 "github.com/primus-dev/primus/internal/platform/apis/management/v1alpha1"
	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

func TestViewRoundTrip(t *testing.T) {
	stored := &primusv1.Project{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web", UID: "u1", ResourceVersion: "9", Labels: map[string]string{"team": "web"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "primus"}},
		},
		Spec: primusv1.ProjectSpec{
			DisplayName: "Web",
			Members:     []primusv1.Member{{Kind: primusv1.MemberGroup, Name: "devs", Role: primusv1.RoleEdit}},
			Quota:       map[string]intstr.IntOrString{"pods": intstr.FromInt32(10)},
		},
		Status: primusv1.ProjectStatus{Phase: primusv1.PhaseReady, Namespace: "project-web", Conditions: []metav1.Condition{{Type: "Ready"}}},
	}
	v := toView(stored, primusv1.RoleEdit)
	assert.Equal(t, mgmtv1.SchemeGroupVersion.String(), v.APIVersion)
	assert.Equal(t, "Project", v.Kind)
	assert.Nil(t, v.ManagedFields, "the CRD's managedFields describe writes to the CRD, not the view's managers")
	assert.Equal(t, "edit", v.Status.Role)
	assert.Equal(t, "Ready", v.Status.Phase)
	assert.Equal(t, []mgmtv1.Member{{Kind: "Group", Name: "devs", Role: "edit"}}, v.Spec.Members)

	v.Labels["team"] = "changed"
	v.Spec.Quota["pods"] = intstr.FromInt32(1)
	assert.Equal(t, "web", stored.Labels["team"], "the view is a copy")
	assert.Equal(t, intstr.FromInt32(10), stored.Spec.Quota["pods"])

	back := fromView(toView(stored, ""))
	assert.Equal(t, stored.Spec, back.Spec)
	assert.Equal(t, stored.Labels, back.Labels)
	assert.Empty(t, back.UID, "only name, labels, annotations and spec are taken from a caller")
	assert.Empty(t, back.Status)
}

// TestViewManagedFields: the view's field managers are kept in
// ManagedFieldsAnnotation and shown as metadata.managedFields, the
// annotation hidden; a caller cannot write that annotation directly, and a
// value that does not decode reads as no managers.
func TestViewManagedFields(t *testing.T) {
	managed := []metav1.ManagedFieldsEntry{{
		Manager: "alice-tool", Operation: metav1.ManagedFieldsOperationApply, APIVersion: mgmtv1.SchemeGroupVersion.String(),
		FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:displayName":{}}}`)},
	}}
	tests := []struct {
		name            string
		in              *mgmtv1.Project
		wantAnnotations map[string]string
		wantManaged     []metav1.ManagedFieldsEntry
	}{
		{
			name:            "managers kept beside the caller's annotations",
			in:              &mgmtv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: map[string]string{"team": "web"}, ManagedFields: managed}},
			wantAnnotations: map[string]string{"team": "web"},
			wantManaged:     managed,
		},
		{
			name: "no managers, no annotation",
			in:   &mgmtv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "web"}},
		},
		{
			name: "a caller's own value of the annotation is dropped",
			in:   &mgmtv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: map[string]string{ManagedFieldsAnnotation: `[{"manager":"forged"}]`}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stored := fromView(tc.in)
			back := toView(stored, "")
			assert.Equal(t, tc.wantAnnotations, back.Annotations, "the annotation is hidden")
			assert.Equal(t, tc.wantManaged, back.ManagedFields)
			if tc.wantManaged == nil {
				assert.NotContains(t, stored.Annotations, ManagedFieldsAnnotation)
			}
		})
	}
	t.Run("a value that does not decode", func(t *testing.T) {
		stored := &primusv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: map[string]string{ManagedFieldsAnnotation: "{not json"}}}
		v := toView(stored, "")
		assert.Nil(t, v.ManagedFields)
		assert.Nil(t, v.Annotations)
		assert.Contains(t, stored.Annotations, ManagedFieldsAnnotation, "the stored Project is not changed")
	})
}

// TestWithMembersManagers: a write through the members subresource takes
// spec.members from every manager (one left with nothing is dropped) and
// gives it to the subresource's update managers, replacing an earlier
// entry of the same manager; the Project's own entries among those the
// subresource's field manager returns are ignored.
func TestWithMembersManagers(t *testing.T) {
	fields := func(raw string) *metav1.FieldsV1 { return &metav1.FieldsV1{Raw: []byte(raw)} }
	before := []metav1.ManagedFieldsEntry{
		{Manager: "alice-tool", Operation: metav1.ManagedFieldsOperationApply, FieldsType: "FieldsV1", FieldsV1: fields(`{"f:spec":{"f:displayName":{},"f:members":{}}}`)},
		{Manager: "bob-tool", Operation: metav1.ManagedFieldsOperationApply, FieldsType: "FieldsV1", FieldsV1: fields(`{"f:spec":{"f:members":{}}}`)},
		{Manager: "kubectl-patch", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "members", FieldsType: "FieldsV1", FieldsV1: fields(`{"f:spec":{"f:members":{}}}`)},
	}
	annotations := withViewManagedFields(map[string]string{"team": "web"}, before)
	subresource := []metav1.ManagedFieldsEntry{
		before[0], // the Project's own entries come back too
		{Manager: "kubectl-patch", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "members", FieldsType: "FieldsV1", FieldsV1: fields(`{"f:members":{}}`)},
	}

	got := withMembersManagers(annotations, subresource)
	assert.Equal(t, "web", got["team"])
	managed := viewManagedFields(got)
	require.Len(t, managed, 2, "%v", managed)
	assert.Equal(t, "alice-tool", managed[0].Manager)
	assert.JSONEq(t, `{"f:spec":{"f:displayName":{}}}`, string(managed[0].FieldsV1.Raw), "alice keeps the display name")
	assert.Equal(t, "kubectl-patch", managed[1].Manager)
	assert.Equal(t, "members", managed[1].Subresource)
	assert.Equal(t, mgmtv1.SchemeGroupVersion.String(), managed[1].APIVersion)
	assert.JSONEq(t, `{"f:spec":{"f:members":{}}}`, string(managed[1].FieldsV1.Raw), "in the Project's paths")
}
