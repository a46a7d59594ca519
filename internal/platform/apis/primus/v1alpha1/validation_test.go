package v1alpha1

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

func TestValidate(t *testing.T) {
	user := Member{Kind: MemberUser, Name: "alice", Role: RoleAdmin}
	tests := []struct {
		name    string
		project Project
		want    []string // "field: message" prefixes, in order
	}{
		{name: "minimal", project: Project{ObjectMeta: metav1.ObjectMeta{Name: "web"}}},
		{
			name: "everything valid",
			project: Project{ObjectMeta: metav1.ObjectMeta{Name: "web-2"}, Spec: ProjectSpec{
				DisplayName: "Web",
				Members: []Member{user, {Kind: MemberGroup, Name: "devs", Role: RoleEdit},
					{Kind: MemberServiceAccount, Name: "ci", Namespace: "tools", Role: RoleView}},
				Quota: map[string]intstr.IntOrString{"pods": intstr.FromInt32(10), "requests.memory": intstr.FromString("4Gi"), "count/deployments.apps": intstr.FromInt32(5)},
			}},
		},
		{name: "no name", project: Project{}, want: []string{"metadata.name: must be set"}},
		{name: "upper-case name", project: Project{ObjectMeta: metav1.ObjectMeta{Name: "Web"}}, want: []string{"metadata.name: must be a DNS label"}},
		{name: "name too long", project: Project{ObjectMeta: metav1.ObjectMeta{Name: strings.Repeat("a", 56)}}, want: []string{"metadata.name: must be at most 55"}},
		{
			name:    "bad role",
			project: Project{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: ProjectSpec{Members: []Member{{Kind: MemberUser, Name: "a", Role: "owner"}}}},
			want:    []string{"spec.members[0].role: must be admin, edit or view"},
		},
		{
			name:    "bad kind and empty name",
			project: Project{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: ProjectSpec{Members: []Member{user, {Kind: "Robot", Role: RoleView}}}},
			want:    []string{"spec.members[1].kind: must be User, Group or ServiceAccount", "spec.members[1].name: must be set"},
		},
		{
			name:    "namespace on a user",
			project: Project{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: ProjectSpec{Members: []Member{{Kind: MemberUser, Name: "a", Namespace: "x", Role: RoleView}}}},
			want:    []string{"spec.members[0].namespace: must be empty unless kind is ServiceAccount"},
		},
		{
			name:    "service account without namespace",
			project: Project{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: ProjectSpec{Members: []Member{{Kind: MemberServiceAccount, Name: "ci", Role: RoleView}}}},
			want:    []string{"spec.members[0].namespace: must be set for a ServiceAccount"},
		},
		{
			name:    "duplicate subject",
			project: Project{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: ProjectSpec{Members: []Member{user, {Kind: MemberUser, Name: "alice", Role: RoleView}}}},
			want:    []string{"spec.members[1]: duplicates spec.members[0]"},
		},
		{
			name: "bad quota",
			project: Project{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: ProjectSpec{Quota: map[string]intstr.IntOrString{
				"pods": intstr.FromString("many"), "bad key!": intstr.FromInt32(1), "services": intstr.FromInt32(-1),
			}}},
			want: []string{"spec.quota[bad key!]: is not a resource name", "spec.quota[pods]: must be a quantity", "spec.quota[services]: must not be negative"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.project.Validate()
			if len(tc.want) == 0 {
				require.NoError(t, err)
				return
			}
			var errs ValidationErrors
			require.True(t, errors.As(err, &errs), "want ValidationErrors, got %v", err)
			require.Len(t, errs, len(tc.want), err.Error())
			for i, want := range tc.want {
				assert.True(t, strings.HasPrefix(errs[i].Error(), want), "error %d: want prefix %q, got %q", i, want, errs[i].Error())
			}
		})
	}
}

func TestRoleBindingName(t *testing.T) {
	tests := []struct {
		name   string
		member Member
		prefix string
	}{
		{"user", Member{Kind: MemberUser, Name: "alice@example.com", Role: RoleAdmin}, "primus-admin-user-alice-example-com-"},
		{"service account", Member{Kind: MemberServiceAccount, Name: "ci", Namespace: "tools", Role: RoleView}, "primus-view-serviceaccount-ci-"},
		{"unprintable name", Member{Kind: MemberGroup, Name: "!!!", Role: RoleEdit}, "primus-edit-group-"},
		{"long name", Member{Kind: MemberUser, Name: strings.Repeat("x", 300), Role: RoleEdit}, "primus-edit-user-xxx"},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := RoleBindingName(tc.member)
			assert.True(t, strings.HasPrefix(got, tc.prefix), got)
			assert.Empty(t, validation.IsDNS1123Label(got), "%q is a valid object name", got)
			assert.False(t, seen[got])
			seen[got] = true
			assert.Equal(t, got, RoleBindingName(tc.member), "stable")
		})
	}
	// Subjects that sanitise alike still get distinct names.
	a := RoleBindingName(Member{Kind: MemberUser, Name: "a.b", Role: RoleView})
	b := RoleBindingName(Member{Kind: MemberUser, Name: "a-b", Role: RoleView})
	assert.NotEqual(t, a, b)
}

func TestDeepCopy(t *testing.T) {
	p := &Project{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"a": "b"}},
		Spec:       ProjectSpec{Members: []Member{{Kind: MemberUser, Name: "a", Role: RoleView}}, Quota: map[string]intstr.IntOrString{"pods": intstr.FromInt32(1)}},
		Status:     ProjectStatus{Conditions: []metav1.Condition{{Type: ConditionReady}}},
	}
	c := p.DeepCopy()
	require.Equal(t, p, c)
	c.Labels["a"] = "x"
	c.Spec.Members[0].Name = "x"
	c.Spec.Quota["pods"] = intstr.FromInt32(2)
	c.Status.Conditions[0].Type = "x"
	assert.Equal(t, "b", p.Labels["a"])
	assert.Equal(t, "a", p.Spec.Members[0].Name)
	assert.Equal(t, intstr.FromInt32(1), p.Spec.Quota["pods"])
	assert.Equal(t, ConditionReady, p.Status.Conditions[0].Type)
}
