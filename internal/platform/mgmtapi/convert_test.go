package mgmtapi

import (
	"testing"

	"github.com/stretchr/testify/assert"
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
