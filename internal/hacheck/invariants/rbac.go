package invariants

import (
	"fmt"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"
	rbacvalidation "k8s.io/component-helpers/auth/rbac/validation"
)

// leaseLockVerbs are the verbs client-go's resourcelock.LeaseLock calls:
// Get and Update on the named Lease, Create when it does not exist yet.
var leaseLockVerbs = []string{"get", "create", "update"}

// leaseWatchVerbs are needed only by a binary that also watches its Lease
// (primus --lease-watch=true), and then on the one Lease: a list or watch
// with a metadata.name field selector is authorized by resourceNames.
var leaseWatchVerbs = []string{"list", "watch"}

const leaseGroup, leaseResource = "coordination.k8s.io", "leases"

// grant is one PolicyRule in force for a subject, and how it got there.
type grant struct {
	rule rbacv1.PolicyRule
	// namespace is where the rule applies; "" is every namespace.
	namespace string
	// role is the Role or ClusterRole the rule is in; binding binds it.
	role, binding string
}

// authorizer evaluates the rendered RBAC the way the API server's RBAC
// authorizer does: ClusterRoleBindings grant their ClusterRole everywhere,
// RoleBindings grant their Role or ClusterRole in their namespace, aggregated
// ClusterRoles hold the rules of the ClusterRoles their selectors match, and
// subjects match as k8s.io/kubernetes pkg/registry/rbac/validation
// appliesToUser does (ServiceAccount subjects, the ServiceAccount's user
// name, and the system:serviceaccounts[:namespace] and system:authenticated
// groups). Rule matching is upstream's: component-helpers' Covers.
type authorizer struct {
	m            *Manifest
	clusterRules map[string][]rbacv1.PolicyRule
}

func newAuthorizer(m *Manifest) *authorizer {
	a := &authorizer{m: m, clusterRules: map[string][]rbacv1.PolicyRule{}}
	for _, cr := range m.ClusterRoles {
		rules := append([]rbacv1.PolicyRule{}, cr.Rules...)
		if cr.AggregationRule != nil {
			for _, other := range m.ClusterRoles {
				if other.Name != cr.Name && aggregates(cr.AggregationRule, other.Labels) {
					rules = append(rules, other.Rules...)
				}
			}
		}
		a.clusterRules[cr.Name] = rules
	}
	return a
}

func aggregates(agg *rbacv1.AggregationRule, labels map[string]string) bool {
	for _, sel := range agg.ClusterRoleSelectors {
		if s, err := metav1.LabelSelectorAsSelector(&sel); err == nil && !s.Empty() && s.Matches(k8slabels.Set(labels)) {
			return true
		}
	}
	return false
}

// saUser is the user the API server authenticates a ServiceAccount's token as.
func saUser(namespace, name string) user.Info {
	info := serviceaccount.UserInfo(namespace, name, "")
	return &user.DefaultInfo{Name: info.GetName(), Groups: append(info.GetGroups(), user.AllAuthenticated)}
}

// appliesTo mirrors appliesToUser of k8s.io/kubernetes
// pkg/registry/rbac/validation/rule.go.
func appliesTo(u user.Info, subjects []rbacv1.Subject, namespace string) bool {
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.UserKind:
			if u.GetName() == s.Name {
				return true
			}
		case rbacv1.GroupKind:
			if containsString(u.GetGroups(), s.Name) {
				return true
			}
		case rbacv1.ServiceAccountKind:
			ns := namespace
			if s.Namespace != "" {
				ns = s.Namespace
			}
			if ns != "" && serviceaccount.MatchesUsername(ns, s.Name, u.GetName()) {
				return true
			}
		}
	}
	return false
}

// grants are the rules in force for a ServiceAccount in namespace (every
// cluster-wide grant, and the namespace's RoleBindings).
func (a *authorizer) grants(saNamespace, sa, namespace string) []grant {
	u := saUser(saNamespace, sa)
	var out []grant
	for _, b := range a.m.ClusterRoleBindings {
		if b.RoleRef.Kind != "ClusterRole" || !appliesTo(u, b.Subjects, "") {
			continue
		}
		for _, r := range a.clusterRules[b.RoleRef.Name] {
			out = append(out, grant{rule: r, role: "ClusterRole/" + b.RoleRef.Name, binding: ref("ClusterRoleBinding", b)})
		}
	}
	for _, b := range a.m.RoleBindings {
		if b.Namespace != namespace || !appliesTo(u, b.Subjects, b.Namespace) {
			continue
		}
		for _, r := range a.roleRules(b.Namespace, b.RoleRef) {
			out = append(out, grant{rule: r, namespace: b.Namespace, role: roleRefName(b.Namespace, b.RoleRef), binding: ref("RoleBinding", b)})
		}
	}
	return out
}

func (a *authorizer) roleRules(namespace string, rr rbacv1.RoleRef) []rbacv1.PolicyRule {
	if rr.Kind == "ClusterRole" {
		return a.clusterRules[rr.Name]
	}
	for _, r := range a.m.Roles {
		if r.Namespace == namespace && r.Name == rr.Name && rr.Kind == "Role" {
			return r.Rules
		}
	}
	return nil
}

func roleRefName(namespace string, rr rbacv1.RoleRef) string {
	if rr.Kind == "ClusterRole" {
		return "ClusterRole/" + rr.Name
	}
	return fmt.Sprintf("Role/%s/%s", namespace, rr.Name)
}

// leaseRequest is the rule a request for verb on the Lease named name is.
// An empty name asks for every Lease (create carries no name).
func leaseRequest(verb, name string) rbacv1.PolicyRule {
	r := rbacv1.PolicyRule{APIGroups: []string{leaseGroup}, Resources: []string{leaseResource}, Verbs: []string{verb}}
	if name != "" {
		r.ResourceNames = []string{name}
	}
	return r
}

// allowedBy returns the grants that allow the request, empty when none does.
func allowedBy(grants []grant, req rbacv1.PolicyRule) []grant {
	var out []grant
	for _, g := range grants {
		if ok, _ := rbacvalidation.Covers([]rbacv1.PolicyRule{g.rule}, []rbacv1.PolicyRule{req}); ok {
			out = append(out, g)
		}
	}
	return out
}

// leaseAccess is what a ServiceAccount may do to an election's Lease.
type leaseAccess struct {
	// missing are the lock verbs it may not use.
	missing []string
	// anyLeaseRule is true when some grant for it names Leases at all.
	anyLeaseRule bool
}

// access evaluates the lock verbs. With the Lease's name unknown, a grant
// restricted to any resourceNames counts (hacheck cannot say which name the
// binary uses).
func (a *authorizer) access(w *Workload, le LeaderElection) leaseAccess {
	gs := a.grants(w.Namespace, w.ServiceAccount, le.LeaseNamespace)
	var out leaseAccess
	for _, g := range gs {
		out.anyLeaseRule = out.anyLeaseRule || namesLeases(g.rule)
	}
	verbs := leaseLockVerbs
	if le.Watch {
		verbs = append(append([]string{}, leaseLockVerbs...), leaseWatchVerbs...)
	}
	for _, v := range verbs {
		name := le.LeaseName
		if v == "create" {
			name = ""
		}
		ok := len(allowedBy(gs, leaseRequest(v, name))) > 0
		if !ok && le.LeaseName == "" && v != "create" {
			for _, g := range gs {
				unnamed := g.rule
				unnamed.ResourceNames = nil
				ok = ok || len(allowedBy([]grant{{rule: unnamed}}, leaseRequest(v, ""))) > 0
			}
		}
		if !ok {
			out.missing = append(out.missing, v)
		}
	}
	return out
}

// namesLeases reports whether a rule is about Leases by name (not only
// through wildcards).
func namesLeases(r rbacv1.PolicyRule) bool {
	return (containsString(r.APIGroups, leaseGroup) || containsString(r.APIGroups, "*")) &&
		(containsString(r.Resources, leaseResource) || containsString(r.APIGroups, leaseGroup) && containsString(r.Resources, "*"))
}

// leaseGrantsAnywhere reports whether any RoleBinding or ClusterRoleBinding
// gives the ServiceAccount a rule that names Leases, in any namespace.
func (a *authorizer) leaseGrantsAnywhere(w *Workload) bool {
	namespaces := map[string]bool{"": true}
	for _, b := range a.m.RoleBindings {
		namespaces[b.Namespace] = true
	}
	for ns := range namespaces {
		for _, g := range a.grants(w.Namespace, w.ServiceAccount, ns) {
			if namesLeases(g.rule) {
				return true
			}
		}
	}
	return false
}

// leaseWritesAnywhere reports whether any binding gives the ServiceAccount
// a rule that may create, update or patch Leases, in any namespace. Reading
// Leases (kube-state-metrics lists them for its kube_lease metrics) says
// nothing about electing.
func (a *authorizer) leaseWritesAnywhere(w *Workload) bool {
	namespaces := map[string]bool{"": true}
	for _, b := range a.m.RoleBindings {
		namespaces[b.Namespace] = true
	}
	for ns := range namespaces {
		for _, g := range a.grants(w.Namespace, w.ServiceAccount, ns) {
			if namesLeases(g.rule) && containsAny(g.rule.Verbs, "create", "update", "patch", "*") {
				return true
			}
		}
	}
	return false
}

// bindsSubject reports whether the render binds anything to the
// ServiceAccount: if not, its RBAC is managed outside the chart.
func (a *authorizer) bindsSubject(w *Workload) bool {
	u := saUser(w.Namespace, w.ServiceAccount)
	for _, b := range a.m.ClusterRoleBindings {
		if appliesTo(u, b.Subjects, "") {
			return true
		}
	}
	for _, b := range a.m.RoleBindings {
		if appliesTo(u, b.Subjects, b.Namespace) {
			return true
		}
	}
	return false
}

// writeVerbs are the Lease verbs that take over or destroy another
// controller's election.
var writeVerbs = []string{"update", "patch", "delete", "create"}

// writers lists, for the ServiceAccount, the grants that let it write a
// Lease it does not own: in another namespace (otherNamespace) or, in the
// Lease's namespace, under another name. Read-only rules never count.
func (a *authorizer) writers(w *Workload, le LeaderElection) (clusterWide, otherNames []grant) {
	const stranger = "hacheck-another-controllers-lease"
	other := "hacheck-another-namespace"
	for _, v := range writeVerbs {
		name := stranger
		if v == "create" {
			name = ""
		}
		clusterWide = append(clusterWide, allowedBy(a.grants(w.Namespace, w.ServiceAccount, other), leaseRequest(v, name))...)
		if v != "create" {
			for _, g := range allowedBy(a.grants(w.Namespace, w.ServiceAccount, le.LeaseNamespace), leaseRequest(v, stranger)) {
				if g.namespace != "" {
					otherNames = append(otherNames, g)
				}
			}
		}
	}
	return dedupe(clusterWide), dedupe(otherNames)
}

// dedupe keeps one grant per role and binding.
func dedupe(gs []grant) []grant {
	seen := map[string]bool{}
	var out []grant
	for _, g := range gs {
		k := g.role + " " + g.binding
		if !seen[k] {
			seen[k] = true
			out = append(out, g)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].binding < out[j].binding })
	return out
}

// grantedVerbs lists the write verbs one role's rules allow on a Lease
// other than the workload's, in its namespace or any.
func grantedVerbs(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, v := range writeVerbs {
		name := "hacheck-another-controllers-lease"
		if v == "create" {
			name = ""
		}
		if ok, _ := rbacvalidation.Covers(rules, []rbacv1.PolicyRule{leaseRequest(v, name)}); ok {
			out = append(out, v)
		}
	}
	return out
}

func joinVerbs(vs []string) string { return strings.Join(vs, ", ") }
