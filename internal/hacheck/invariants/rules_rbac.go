package invariants

import (
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// leaseRBACJudged reports whether the Lease rules judge an election: the
// lock is a Lease, and the render manages the ServiceAccount's RBAC (binds
// something to it, or renders a Role for Leases). A chart that leaves RBAC
// to the user has nothing to check.
func (c *checker) leaseRBACJudged(w *Workload, le LeaderElection) bool {
	return le.NotALease == "" && (c.rbac.bindsSubject(w) || len(c.unboundLeaseRoles(w, le)) > 0)
}

// boundTo reports whether a binding in the render gives the workload's
// ServiceAccount the Role (namespace set) or ClusterRole.
func (a *authorizer) boundTo(w *Workload, kind, namespace, name string) bool {
	u := saUser(w.Namespace, w.ServiceAccount)
	if kind == "ClusterRole" {
		for _, b := range a.m.ClusterRoleBindings {
			if b.RoleRef.Kind == kind && b.RoleRef.Name == name && appliesTo(u, b.Subjects, "") {
				return true
			}
		}
	}
	for _, b := range a.m.RoleBindings {
		if b.RoleRef.Kind == kind && b.RoleRef.Name == name && (kind == "ClusterRole" || b.Namespace == namespace) && appliesTo(u, b.Subjects, b.Namespace) {
			return true
		}
	}
	return false
}

// unboundLeaseRoles are the Roles in the Lease's namespace and the
// ClusterRoles that name the election's Lease verbs but are bound neither to
// this ServiceAccount nor to another elected workload's: Lease RBAC meant
// for this workload that reaches no one.
func (c *checker) unboundLeaseRoles(w *Workload, le LeaderElection) []string {
	grantsLease := func(rules []rbacv1.PolicyRule) bool {
		for _, r := range rules {
			if !namesLeases(r) {
				continue
			}
			if le.LeaseName == "" || len(r.ResourceNames) == 0 || containsString(r.ResourceNames, le.LeaseName) {
				return true
			}
		}
		return false
	}
	var out []string
	for _, r := range c.m.Roles {
		if r.Namespace == le.LeaseNamespace && grantsLease(r.Rules) && !c.boundToAnyElected(w, "Role", r.Namespace, r.Name) {
			out = append(out, ref("Role", r))
		}
	}
	for _, r := range c.m.ClusterRoles {
		if grantsLease(c.rbac.clusterRules[r.Name]) && !c.boundToAnyElected(w, "ClusterRole", "", r.Name) && !c.bound("ClusterRole", r.Name) {
			out = append(out, ref("ClusterRole", r))
		}
	}
	return out
}

// boundToAnyElected: bound to this workload or to another that elects.
func (c *checker) boundToAnyElected(w *Workload, kind, namespace, name string) bool {
	for _, o := range c.m.Workloads {
		if (o == w || len(o.Elections) > 0) && c.rbac.boundTo(o, kind, namespace, name) {
			return true
		}
	}
	return false
}

// bound reports whether any binding references the Role or ClusterRole.
func (c *checker) bound(kind, name string) bool {
	for _, b := range c.m.ClusterRoleBindings {
		if b.RoleRef.Kind == kind && b.RoleRef.Name == name {
			return true
		}
	}
	for _, b := range c.m.RoleBindings {
		if b.RoleRef.Kind == kind && b.RoleRef.Name == name {
			return true
		}
	}
	return false
}

func leaseLabel(le LeaderElection) string {
	if le.LeaseName == "" {
		return fmt.Sprintf("its Lease in %s (name unknown)", le.LeaseNamespace)
	}
	return fmt.Sprintf("Lease %s/%s", le.LeaseNamespace, le.LeaseName)
}

func checkLeaseRole(c *checker) []Finding {
	var out []Finding
	for _, w := range c.m.Workloads {
		for _, le := range w.Elections {
			if !c.leaseRBACJudged(w, le) || len(c.unboundLeaseRoles(w, le)) > 0 {
				continue // lease-rolebinding reports the unbound Role
			}
			acc := c.rbac.access(w, le)
			if len(acc.missing) == 0 {
				continue
			}
			if le.LeaseNamespaceAssumed && c.rbac.leaseGrantsAnywhere(w) && !acc.anyLeaseRule {
				continue // the pods may elect in another namespace than the assumed one
			}
			out = append(out, Finding{Object: w.Ref(),
				Message: fmt.Sprintf("ServiceAccount %s/%s may not %s %s (container %s: %s); client-go's Lease lock needs get, create and update (and list and watch with --lease-watch=true), and no Role, ClusterRole or binding in the render grants them",
					w.Namespace, w.ServiceAccount, strings.Join(acc.missing, ", "), leaseLabel(le), le.Container, evidence(le))})
		}
	}
	return out
}

func checkLeaseRoleBinding(c *checker) []Finding {
	var out []Finding
	for _, w := range c.m.Workloads {
		for _, le := range w.Elections {
			if le.NotALease != "" {
				continue
			}
			roles := c.unboundLeaseRoles(w, le)
			if len(roles) == 0 || len(c.rbac.access(w, le).missing) == 0 {
				continue
			}
			out = append(out, Finding{Object: roles[0],
				Message: fmt.Sprintf("grants the Lease verbs but no binding in %s gives it to ServiceAccount %s/%s, the one %s runs as",
					le.LeaseNamespace, w.Namespace, w.ServiceAccount, w.Ref())})
		}
	}
	return out
}

// checkRBACNamespaced: a leader-elected workload's ServiceAccount may write
// Leases outside its Lease's namespace. One finding per binding and role,
// naming every ServiceAccount it gives them to (flux2's crd-controller binds
// six).
func checkRBACNamespaced(c *checker) []Finding {
	type group struct {
		binding, role        string
		accounts, namespaces []string
		leases               []LeaderElection
	}
	var groups []*group
	byKey := map[string]*group{}
	for _, w := range c.m.Workloads {
		for _, le := range w.Elections {
			clusterWide, _ := c.rbac.writers(w, le)
			for _, g := range clusterWide {
				key := g.binding + " " + g.role
				gr := byKey[key]
				if gr == nil {
					gr = &group{binding: g.binding, role: g.role}
					byKey[key] = gr
					groups = append(groups, gr)
				}
				if account := w.Namespace + "/" + w.ServiceAccount; !slices.Contains(gr.accounts, account) {
					gr.accounts = append(gr.accounts, account)
					gr.leases = append(gr.leases, le)
				}
				if !slices.Contains(gr.namespaces, le.LeaseNamespace) {
					gr.namespaces = append(gr.namespaces, le.LeaseNamespace)
				}
			}
		}
	}
	var out []Finding
	for _, gr := range groups {
		verbs := grantedVerbs(c.rbac.clusterRules[strings.TrimPrefix(gr.role, "ClusterRole/")])
		if len(verbs) == 1 && verbs[0] == "create" {
			// RBAC cannot restrict create by resourceNames, so many charts
			// grant it cluster-wide (cluster-autoscaler). It takes over no
			// election: an existing Lease cannot be created again, and one
			// created first is taken back by its controller once it
			// expires, since this account may not renew it.
			out = append(out, Finding{Object: gr.binding, Severity: SeverityInfo,
				Message: fmt.Sprintf("gives %s create on Leases in every namespace (%s) but no update, patch or delete on other Leases: it cannot take over an election; for least privilege grant create with a Role in %s",
					accountsLabel(gr.accounts), gr.role, strings.Join(gr.namespaces, ", "))})
			continue
		}
		needs := leaseLabel(gr.leases[0])
		if len(gr.leases) > 1 {
			var names []string
			for _, le := range gr.leases {
				if ref := leaseRef(le); !slices.Contains(names, ref) {
					names = append(names, ref)
				}
			}
			needs = "their own Leases (" + strings.Join(names, ", ") + ")"
		}
		out = append(out, Finding{Object: gr.binding,
			Message: fmt.Sprintf("gives %s %s on Leases in every namespace (%s); leader election needs them only for %s: grant them with a Role and RoleBinding there",
				accountsLabel(gr.accounts), joinVerbs(verbs), gr.role, needs)})
	}
	return out
}

// accountsLabel names one ServiceAccount or several.
func accountsLabel(accounts []string) string {
	if len(accounts) == 1 {
		return "ServiceAccount " + accounts[0]
	}
	return "ServiceAccounts " + strings.Join(accounts, ", ")
}

// leaseRef is namespace/name, with ? for a name the render does not say.
func leaseRef(le LeaderElection) string {
	name := le.LeaseName
	if name == "" {
		name = "?"
	}
	return le.LeaseNamespace + "/" + name
}

// checkLeaseResourceNames: in the Lease's namespace, update or patch not
// restricted to the workload's own Lease. Cluster-wide grants are
// rbac-namespaced's.
func checkLeaseResourceNames(c *checker) []Finding {
	var out []Finding
	seen := map[string]bool{}
	for _, w := range c.m.Workloads {
		for _, le := range w.Elections {
			if le.LeaseName == "" {
				continue
			}
			_, others := c.rbac.writers(w, le)
			for _, g := range others {
				key := g.role + " " + w.ServiceAccount
				if seen[key] {
					continue
				}
				seen[key] = true
				out = append(out, Finding{Object: g.role,
					Message: fmt.Sprintf("lets ServiceAccount %s/%s (through %s) update every Lease in %s, not only %q: it can take over other controllers' elections; restrict update and patch with resourceNames: [%s], adding any other Lease the binary writes",
						w.Namespace, w.ServiceAccount, g.binding, le.LeaseNamespace, le.LeaseName, le.LeaseName)})
			}
		}
	}
	return out
}
