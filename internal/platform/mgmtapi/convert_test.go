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
	assert.Nil(t, v.ManagedFields, "managedFields describe the CRD's writes")
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
