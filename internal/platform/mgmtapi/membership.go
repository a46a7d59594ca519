package mgmtapi

import (
	"slices"

	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"

	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// roleRank orders the roles: a caller named by several members has the
// strongest of their roles, as RBAC would grant the union.
var roleRank = map[primusv1.Role]int{primusv1.RoleView: 1, primusv1.RoleEdit: 2, primusv1.RoleAdmin: 3}

// RoleOf returns the role u has in p: the strongest role of the members
// that name u's user name, one of u's groups, or u's ServiceAccount; empty
// when u is no member. The members are matched as the controller's
// RoleBindings match them, so the role shown is the access u has in the
// project namespace.
func RoleOf(p *primusv1.Project, u user.Info) primusv1.Role {
	if u == nil {
		return ""
	}
	var best primusv1.Role
	for _, m := range p.Spec.Members {
		if names(m, u) && roleRank[m.Role] > roleRank[best] {
			best = m.Role
		}
	}
	return best
}

// names reports whether member m is the subject u.
func names(m primusv1.Member, u user.Info) bool {
	switch m.Kind {
	case primusv1.MemberUser:
		return m.Name == u.GetName()
	case primusv1.MemberGroup:
		return slices.Contains(u.GetGroups(), m.Name)
	case primusv1.MemberServiceAccount:
		return u.GetName() == serviceaccount.MakeUsername(m.Namespace, m.Name)
	}
	return false
}
