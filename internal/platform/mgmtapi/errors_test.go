package mgmtapi

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

func TestTranslate(t *testing.T) {
	crd := schema.GroupResource{Group: primusv1.GroupName, Resource: primusv1.Resource}
	tests := []struct {
		name       string
		err        error
		wantReason metav1.StatusReason
		wantGroup  string
	}{
		{"not found", apierrors.NewNotFound(crd, "web"), metav1.StatusReasonNotFound, "management.primus.dev"},
		{"already exists", apierrors.NewAlreadyExists(crd, "web"), metav1.StatusReasonAlreadyExists, "management.primus.dev"},
		{"conflict", apierrors.NewConflict(crd, "web", errors.New("changed")), metav1.StatusReasonConflict, "management.primus.dev"},
		{"other status passes", apierrors.NewTooManyRequests("slow down", 1), metav1.StatusReasonTooManyRequests, ""},
		{"not a status", errors.New("connection refused"), metav1.StatusReasonInternalError, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var status apierrors.APIStatus
			require.True(t, errors.As(translate(tc.err, "web"), &status))
			st := status.Status()
			assert.Equal(t, tc.wantReason, st.Reason)
			if tc.wantGroup != "" {
				require.NotNil(t, st.Details)
				assert.Equal(t, tc.wantGroup, st.Details.Group)
			}
		})
	}
	assert.NoError(t, translate(nil, "web"))
}

func TestInvalid(t *testing.T) {
	p := project("Web", primusv1.Member{Kind: primusv1.MemberUser, Name: "a", Role: "owner"})
	err := invalid(p)
	require.True(t, apierrors.IsInvalid(err), "%v", err)
	st := err.(apierrors.APIStatus).Status()
	var fields []string
	for _, c := range st.Details.Causes {
		fields = append(fields, c.Field)
	}
	assert.Equal(t, []string{"metadata.name", "spec.members[0].role"}, fields)
	assert.NoError(t, invalid(project("web")))
}
