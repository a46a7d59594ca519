// Package invariants checks the high-availability invariants of rendered
// Kubernetes manifests: replicas, leader election and its Lease RBAC, spread,
// PodDisruptionBudget, rollout, Service and probe wiring, Pod Security.
//
// Rules read any chart's output, not only Primus': they find leader-elected
// workloads by their --leader-elect flags. The package does not render charts
// (see package render) and does not talk to a cluster (see package verify).
package invariants

import (
	"sort"

	"primus.dev/primus/internal/render"
)

// Finding is one broken invariant.
type Finding struct {
	// Rule is the id of the rule that found it, e.g. "pdb-present".
	Rule string `json:"rule"`
	// Object is the object at fault, as Kind/namespace/name.
	Object string `json:"object"`
	// Message says what is wrong and what to do, for a human.
	Message string `json:"message"`
}

// Expectation is what the user asked for, when the manifest alone cannot say.
type Expectation struct {
	// Replicas is the replica count the user asked for; 0 means "whatever
	// the workload says".
	Replicas int
}

// Rule is one invariant.
type Rule struct {
	// ID names the rule in findings and reports.
	ID string
	// Description says in one sentence what holds when the rule passes.
	Description string
	check       func(m *Manifest, exp Expectation) []Finding
}

// Rules returns every rule, in the order reports list them.
func Rules() []Rule {
	return []Rule{
		{ID: "replicas", Description: "Each workload runs the replica count that was asked for.", check: checkReplicas},
		{ID: "leader-election", Description: "Leader election is on whenever more than one pod can run at once (replicas > 1 or a rolling update).", check: checkLeaderElection},
		{ID: "lease-timing", Description: "retryPeriod < renewDeadline < leaseDuration.", check: checkLeaseTiming},
		{ID: "lease-consistency", Description: "The Lease named in the args is the rendered Lease and the one the Role names.", check: checkLeaseConsistency},
		{ID: "lease-role", Description: "A namespaced Role grants every verb client-go's Lease lock needs (get, create, update) on that Lease.", check: checkLeaseRole},
		{ID: "lease-rolebinding", Description: "A RoleBinding binds that Role to the ServiceAccount the workload runs as.", check: checkLeaseRoleBinding},
		{ID: "rbac-namespaced", Description: "Nothing cluster-wide grants access to Leases.", check: checkRBACNamespaced},
		{ID: "spread", Description: "Replicas > 1 are spread by pod anti-affinity or topology spread constraints that select them.", check: checkSpread},
		{ID: "pdb-present", Description: "A PodDisruptionBudget covers the workload iff replicas > 1.", check: checkPDBPresent},
		{ID: "pdb-selector", Description: "The PodDisruptionBudget selector matches every label it names on the pod template.", check: checkPDBSelector},
		{ID: "pdb-disruptions", Description: "The PodDisruptionBudget still allows at least one disruption (HPA minReplicas counted).", check: checkPDBDisruptions},
		{ID: "rollout", Description: "A rollout never drops below replicas-1 ready pods.", check: checkRollout},
		{ID: "service-selector", Description: "A Service selects the workload's pods, and every Service selects some pods.", check: checkServiceSelector},
		{ID: "probes", Description: "A readiness probe exists and no probe depends on leadership.", check: checkProbes},
		{ID: "pod-security", Description: "Pods meet the restricted Pod Security Standard.", check: checkPodSecurity},
	}
}

// Check runs every rule on the objects and returns the findings, sorted by
// rule order then object.
func Check(objs []render.Object, exp Expectation) ([]Finding, error) {
	m, err := NewManifest(objs)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, r := range Rules() {
		fs := r.check(m, exp)
		sort.SliceStable(fs, func(i, j int) bool { return fs[i].Object < fs[j].Object })
		out = append(out, fs...)
	}
	return out, nil
}
