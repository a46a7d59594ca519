package mgmtapi

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apiserver/pkg/authentication/user"

	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

func TestRoleOf(t *testing.T) {
	p := &primusv1.Project{Spec: primusv1.ProjectSpec{Members: []primusv1.Member{
		{Kind: primusv1.MemberUser, Name: "alice", Role: primusv1.RoleView},
		{Kind: primusv1.MemberGroup, Name: "devs", Role: primusv1.RoleEdit},
		{Kind: primusv1.MemberServiceAccount, Namespace: "ci", Name: "deployer", Role: primusv1.RoleAdmin},
	}}}
	tests := []struct {
		name string
		user user.Info
		want primusv1.Role
	}{
		{"user", &user.DefaultInfo{Name: "alice"}, primusv1.RoleView},
		{"group", &user.DefaultInfo{Name: "bob", Groups: []string{"devs"}}, primusv1.RoleEdit},
		{"strongest of user and group", &user.DefaultInfo{Name: "alice", Groups: []string{"devs"}}, primusv1.RoleEdit},
		{"service account", &user.DefaultInfo{Name: "system:serviceaccount:ci:deployer"}, primusv1.RoleAdmin},
		{"service account of another namespace", &user.DefaultInfo{Name: "system:serviceaccount:other:deployer"}, ""},
		{"a user named like the service account", &user.DefaultInfo{Name: "deployer"}, ""},
		{"no member", &user.DefaultInfo{Name: "carol", Groups: []string{"system:authenticated"}}, ""},
		{"no user", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, RoleOf(p, tc.user))
		})
	}
}
