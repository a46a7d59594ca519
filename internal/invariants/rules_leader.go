package invariants

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
)

func checkReplicas(m *Manifest, exp Expectation) []Finding {
	var out []Finding
	if exp.Replicas > 0 && len(m.Deployments) == 0 {
		out = append(out, Finding{Rule: "replicas", Object: "(manifest)", Message: fmt.Sprintf("asked for %d replicas but no Deployment was rendered", exp.Replicas)})
	}
	for _, d := range m.Deployments {
		if exp.Replicas > 0 && replicas(d) != exp.Replicas {
			out = append(out, Finding{Rule: "replicas", Object: ref("Deployment", d),
				Message: fmt.Sprintf("spec.replicas is %d, asked for %d", replicas(d), exp.Replicas)})
		}
	}
	return out
}

// checkLeaderElection: more than one pod can run at once whenever replicas
// > 1, and also at one replica during a RollingUpdate (maxSurge). Only the
// Lease keeps their controllers from running twice.
func checkLeaderElection(m *Manifest, _ Expectation) []Finding {
	var out []Finding
	for _, d := range m.Deployments {
		le := leaderElection(d)
		if !le.Configured || le.Enabled {
			continue
		}
		switch {
		case replicas(d) > 1:
			out = append(out, Finding{Rule: "leader-election", Object: ref("Deployment", d),
				Message: fmt.Sprintf("%d replicas with --leader-elect=false: every replica would run the controllers; enable leader election", replicas(d))})
		case d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType:
			out = append(out, Finding{Rule: "leader-election", Object: ref("Deployment", d),
				Message: "--leader-elect=false with a RollingUpdate strategy: a rollout briefly runs two pods whose controllers would both run; enable leader election or use Recreate"})
		}
	}
	return out
}

func checkLeaseTiming(m *Manifest, _ Expectation) []Finding {
	var out []Finding
	for _, d := range m.Deployments {
		le := leaderElection(d)
		if !le.Enabled {
			continue
		}
		if le.RenewDeadline > 0 && le.LeaseDuration > 0 && le.RenewDeadline >= le.LeaseDuration {
			out = append(out, Finding{Rule: "lease-timing", Object: ref("Deployment", d),
				Message: fmt.Sprintf("renew deadline %s must be shorter than lease duration %s", le.RenewDeadline, le.LeaseDuration)})
		}
		if le.RetryPeriod > 0 && le.RenewDeadline > 0 && le.RetryPeriod >= le.RenewDeadline {
			out = append(out, Finding{Rule: "lease-timing", Object: ref("Deployment", d),
				Message: fmt.Sprintf("retry period %s must be shorter than renew deadline %s", le.RetryPeriod, le.RenewDeadline)})
		}
	}
	return out
}

// checkLeaseConsistency: the args, the rendered Lease (when the chart renders
// one) and the Role's resourceNames must name the same Lease.
//
// A chart may run several leader-elected workloads, each with its own Lease
// and Role: a rendered Lease or a Role's resourceNames naming another
// workload's Lease belongs to that workload and is not a mismatch.
func checkLeaseConsistency(m *Manifest, _ Expectation) []Finding {
	var out []Finding
	named := m.electedLeases()
	for _, d := range m.Deployments {
		le := leaderElection(d)
		if !le.Enabled {
			continue
		}
		if le.LeaseName == "" {
			out = append(out, Finding{Rule: "lease-consistency", Object: ref("Deployment", d),
				Message: "leader election is on but no --leader-election-id names the Lease; two releases would share a default Lease"})
			continue
		}
		if stray := m.strayLease(named); stray != nil && !m.hasLease(le.LeaseNamespace, le.LeaseName) {
			out = append(out, Finding{Rule: "lease-consistency", Object: ref("Deployment", d),
				Message: fmt.Sprintf("args name Lease %s/%s but the rendered Lease is %s", le.LeaseNamespace, le.LeaseName, ref("Lease", stray))})
		}
		for _, r := range m.Roles {
			if r.Namespace != le.LeaseNamespace {
				continue
			}
			for _, rule := range r.Rules {
				if !ruleCovers(rule, "coordination.k8s.io", "leases", "get") || len(rule.ResourceNames) == 0 {
					continue
				}
				if !contains(rule.ResourceNames, le.LeaseName) && !namesAny(named, r.Namespace, rule.ResourceNames) {
					out = append(out, Finding{Rule: "lease-consistency", Object: ref("Role", r),
						Message: fmt.Sprintf("resourceNames %v do not include the Lease %q named in the args", rule.ResourceNames, le.LeaseName)})
				}
			}
		}
	}
	return out
}

// electedLeases are the Leases, as namespace/name, that leader-elected
// workloads name in their args.
func (m *Manifest) electedLeases() map[string]bool {
	named := map[string]bool{}
	for _, d := range m.Deployments {
		if le := leaderElection(d); le.Enabled && le.LeaseName != "" {
			named[le.LeaseNamespace+"/"+le.LeaseName] = true
		}
	}
	return named
}

// strayLease is a rendered Lease that no workload's args name, or nil.
func (m *Manifest) strayLease(named map[string]bool) *coordinationv1.Lease {
	for _, l := range m.Leases {
		if !named[l.Namespace+"/"+l.Name] {
			return l
		}
	}
	return nil
}

// namesAny reports whether any of names in namespace is a Lease in named.
func namesAny(named map[string]bool, namespace string, names []string) bool {
	for _, n := range names {
		if named[namespace+"/"+n] {
			return true
		}
	}
	return false
}

func (m *Manifest) hasLease(namespace, name string) bool {
	for _, l := range m.Leases {
		if l.Namespace == namespace && l.Name == name {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
