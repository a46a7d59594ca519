package invariants

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// leaseLockVerbs are the verbs client-go's resourcelock.LeaseLock calls:
// Get and Update on the named Lease, Create when it does not exist yet.
var leaseLockVerbs = []string{"get", "create", "update"}

// ruleCovers reports whether a PolicyRule grants verb on group/resource.
func ruleCovers(r rbacv1.PolicyRule, group, resource, verb string) bool {
	return (contains(r.APIGroups, group) || contains(r.APIGroups, "*")) &&
		(contains(r.Resources, resource) || contains(r.Resources, "*")) &&
		(contains(r.Verbs, verb) || contains(r.Verbs, "*"))
}

// rulesGrantLease reports whether rules grant verb on the Lease named name
// (create cannot be restricted by name, so it is checked unrestricted).
func rulesGrantLease(rules []rbacv1.PolicyRule, name, verb string) bool {
	for _, r := range rules {
		if !ruleCovers(r, "coordination.k8s.io", "leases", verb) {
			continue
		}
		if len(r.ResourceNames) == 0 || (verb != "create" && contains(r.ResourceNames, name)) {
			return true
		}
	}
	return false
}

// leaseRoles are the Roles in the Lease's namespace that grant any Lease verb.
func (m *Manifest) leaseRoles(le LeaderElection) []*rbacv1.Role {
	var out []*rbacv1.Role
	for _, r := range m.Roles {
		if r.Namespace != le.LeaseNamespace {
			continue
		}
		for _, v := range leaseLockVerbs {
			if rulesGrantLease(r.Rules, le.LeaseName, v) {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

func checkLeaseRole(m *Manifest, _ Expectation) []Finding {
	var out []Finding
	for _, d := range m.Deployments {
		le := leaderElection(d)
		if !le.Enabled || !m.rendersRBAC() {
			continue
		}
		var missing []string
		for _, v := range leaseLockVerbs {
			granted := false
			for _, r := range m.boundRoles(d, le) {
				granted = granted || rulesGrantLease(r.Rules, le.LeaseName, v)
			}
			if !granted {
				missing = append(missing, v)
			}
		}
		if len(missing) > 0 {
			out = append(out, Finding{Rule: "lease-role", Object: ref("Deployment", d),
				Message: fmt.Sprintf("no Role bound to ServiceAccount %s in namespace %s grants %s on Lease %q; client-go's Lease lock needs get, create and update",
					serviceAccount(d), le.LeaseNamespace, strings.Join(missing, ", "), le.LeaseName)})
		}
	}
	return out
}

// boundRoles are the lease Roles bound to the Deployment's ServiceAccount.
func (m *Manifest) boundRoles(d *appsv1.Deployment, le LeaderElection) []*rbacv1.Role {
	var out []*rbacv1.Role
	for _, r := range m.leaseRoles(le) {
		for _, b := range m.RoleBindings {
			if b.Namespace == r.Namespace && b.RoleRef.Kind == "Role" && b.RoleRef.Name == r.Name && bindsServiceAccount(b, d) {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// bindsServiceAccount reports whether b binds the ServiceAccount d runs as.
// A ServiceAccount subject without a namespace is in the binding's
// namespace, as the RBAC authorizer reads it.
func bindsServiceAccount(b *rbacv1.RoleBinding, d *appsv1.Deployment) bool {
	for _, s := range b.Subjects {
		ns := s.Namespace
		if ns == "" {
			ns = b.Namespace
		}
		if s.Kind == rbacv1.ServiceAccountKind && s.Name == serviceAccount(d) && ns == d.Namespace {
			return true
		}
	}
	return false
}

// rendersRBAC is false for charts that leave RBAC to the user (no Role or
// RoleBinding at all); the lease RBAC rules then have nothing to check.
func (m *Manifest) rendersRBAC() bool {
	return len(m.Roles)+len(m.RoleBindings)+len(m.ClusterRoles) > 0
}

func checkLeaseRoleBinding(m *Manifest, _ Expectation) []Finding {
	var out []Finding
	for _, d := range m.Deployments {
		le := leaderElection(d)
		if !le.Enabled || !m.rendersRBAC() {
			continue
		}
		roles := m.leaseRoles(le)
		if len(roles) == 0 || len(m.boundRoles(d, le)) > 0 {
			continue
		}
		out = append(out, Finding{Rule: "lease-rolebinding", Object: ref("Role", roles[0]),
			Message: fmt.Sprintf("no RoleBinding in %s binds this Role to ServiceAccount %s/%s, the one %s runs as",
				roles[0].Namespace, d.Namespace, serviceAccount(d), ref("Deployment", d))})
	}
	return out
}

func checkRBACNamespaced(m *Manifest, _ Expectation) []Finding {
	var out []Finding
	for _, cr := range m.ClusterRoles {
		for _, r := range cr.Rules {
			for _, v := range leaseLockVerbs {
				if ruleCovers(r, "coordination.k8s.io", "leases", v) {
					out = append(out, Finding{Rule: "rbac-namespaced", Object: ref("ClusterRole", cr),
						Message: "grants access to Leases cluster-wide; leader election needs only a Role in the Lease's namespace"})
					break
				}
			}
		}
	}
	return out
}
