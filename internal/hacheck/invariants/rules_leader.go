package invariants

import (
	"fmt"
	"math"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"

	"github.com/primus-dev/primus/internal/platform/leader/timing"
)

func checkReplicas(c *checker) []Finding {
	var out []Finding
	anyAsked := c.exp.Replicas > 0 || len(c.exp.Workloads) > 0
	scaled := 0
	for _, w := range c.m.Workloads {
		if w.PerNode() {
			continue
		}
		scaled++
		want := c.expectedReplicas(w)
		if want == 0 || w.Replicas == want {
			continue
		}
		have := fmt.Sprintf("spec.replicas is %d", w.Replicas)
		if w.ScaledBy != "" {
			have = fmt.Sprintf("%s scales it from %d to %d", w.ScaledBy, w.Replicas, w.MaxReplicas)
		}
		out = append(out, Finding{Object: w.Ref(), Message: fmt.Sprintf("%s, asked for %d", have, want)})
	}
	if anyAsked && scaled == 0 {
		out = append(out, Finding{Object: "(manifest)", Message: "replicas were asked for but no Deployment or StatefulSet was rendered"})
	}
	for pattern := range c.exp.Workloads {
		if !c.matchesAny(pattern) {
			out = append(out, Finding{Object: "(manifest)", Message: fmt.Sprintf("--expect %s matches no rendered workload", pattern)})
		}
	}
	return out
}

func (c *checker) matchesAny(pattern string) bool {
	for _, w := range c.m.Workloads {
		if !w.PerNode() && matchesWorkload(pattern, w) {
			return true
		}
	}
	return false
}

// evidence quotes what decided a verdict.
func evidence(le LeaderElection) string { return strings.Join(le.Evidence, "; ") }

// checkLeaderElection: more than one pod can run at once whenever replicas
// > 1 (or an HPA may scale past 1), and also at one replica during a
// Deployment's RollingUpdate. Only the Lease keeps their controllers from
// running twice. A DaemonSet is a per-node agent: not judged.
func checkLeaderElection(c *checker) []Finding {
	var out []Finding
	for _, w := range c.m.Workloads {
		if !w.Overlaps() {
			continue
		}
		switch w.Election.State {
		case ElectionOff:
			out = append(out, electionOff(w, w.Election, "leader election is off"))
		case ElectionOn:
			// Another container elects: each one that does not is a
			// controller of its own running in every pod.
			for _, le := range w.NotElecting {
				out = append(out, electionOff(w, le, fmt.Sprintf("container %q, beside containers that elect, has leader election off", le.Container)))
			}
		}
	}
	return out
}

// electionOff is the finding for pods whose controllers (or one
// container's, as off says) run without leader election while two pods
// overlap.
func electionOff(w *Workload, le LeaderElection, off string) Finding {
	if w.MaxReplicas > 1 {
		count := fmt.Sprintf("%d replicas", w.MaxReplicas)
		if w.ScaledBy != "" {
			count = fmt.Sprintf("up to %d replicas (%s)", w.MaxReplicas, w.ScaledBy)
		}
		return Finding{Object: w.Ref(),
			Message: fmt.Sprintf("%s and %s (%s): every replica would run the controllers; turn leader election on", count, off, evidence(le))}
	}
	return Finding{Object: w.Ref(), Severity: SeverityWarning,
		Message: fmt.Sprintf("%s (%s) and the RollingUpdate strategy briefly runs two pods whose controllers would both run; turn leader election on or use strategy Recreate", off, evidence(le))}
}

// checkLeaderElectionUnknown: at replicas > 1, say when hacheck cannot
// tell, what it looked for and how to declare it. A warning when the pods
// may write Leases (they likely elect), info otherwise.
func checkLeaderElectionUnknown(c *checker) []Finding {
	var out []Finding
	for _, w := range c.m.Workloads {
		if w.Election.State != ElectionUnknown || w.PerNode() || w.MaxReplicas < 2 {
			continue
		}
		sev, hint := SeverityInfo, "if it runs controllers"
		if c.rbac.leaseWritesAnywhere(w) {
			sev, hint = SeverityWarning, fmt.Sprintf("its ServiceAccount %s may write Leases, so it likely elects", w.ServiceAccount)
		}
		looked := w.Election.Looked
		if len(looked) == 0 {
			looked = lookedFor(genericDialect(append(append([]Dialect{}, builtinDialects...), c.exp.Dialects...)))
		}
		out = append(out, Finding{Object: w.Ref(), Severity: sev,
			Message: fmt.Sprintf("%d replicas and hacheck cannot tell whether the pods elect a leader (%s); it looked for %s in command, args and env; %s, declare the image in .hacheck.yaml controllers (leaderElection: default-on, default-off, always, not-needed or unsupported) or set the flag explicitly",
				w.MaxReplicas, evidence(w.Election), strings.Join(looked, ", "), hint)})
	}
	return out
}

// checkLeaseTiming: client-go's rule, timing.Lease.Validate. A duration
// neither set nor known from the controller table is taken at its most
// lenient (lease duration unbounded, retry period 1ns); an unknown renew
// deadline leaves nothing to judge.
func checkLeaseTiming(c *checker) []Finding {
	var out []Finding
	for _, w := range c.m.Workloads {
		for _, le := range w.Elections {
			if le.RenewDeadline == 0 || (le.LeaseDuration == 0 && le.RetryPeriod == 0) {
				continue
			}
			t := timing.Lease{LeaseDuration: le.LeaseDuration, RenewDeadline: le.RenewDeadline, RetryPeriod: le.RetryPeriod}
			if t.LeaseDuration == 0 {
				t.LeaseDuration = time.Duration(math.MaxInt64)
			}
			if t.RetryPeriod == 0 {
				t.RetryPeriod = 1
			}
			if err := t.ValidateMargin(le.MinLeaseMargin, le.TimingNames); err != nil {
				who := "client-go refuses"
				if le.MinLeaseMargin > 0 {
					who = fmt.Sprintf("the %s binary refuses", le.Controller)
				}
				out = append(out, Finding{Object: w.Ref(),
					Message: fmt.Sprintf("%s: %s this timing at start, so every pod would crash-loop", err, who)})
			}
		}
	}
	return out
}

// checkLeaseConsistency: the args, the rendered Lease (when the chart renders
// one) and the Role's resourceNames must name the same Lease, and a binary
// whose default Lease every release shares must be told a name.
//
// A chart may run several leader-elected workloads, each with its own Lease
// and Role: a rendered Lease or a Role's resourceNames naming another
// workload's Lease belongs to that workload and is not a mismatch.
func checkLeaseConsistency(c *checker) []Finding {
	var out []Finding
	named := c.electedLeases()
	for _, w := range c.m.Workloads {
		for _, le := range w.Elections {
			if le.LeaseName == "" || le.NotALease != "" {
				continue
			}
			if le.SharedDefaultLease {
				out = append(out, Finding{Object: w.Ref(),
					Message: fmt.Sprintf("leader election is on but no --leader-election-id names the Lease, so every release in namespace %s elects on the binary's default Lease %q", le.LeaseNamespace, le.LeaseName)})
				continue
			}
			if stray := c.strayLease(named); stray != nil && !c.hasLease(le.LeaseNamespace, le.LeaseName) {
				out = append(out, Finding{Object: w.Ref(),
					Message: fmt.Sprintf("the pods elect on Lease %s/%s but the rendered Lease is %s", le.LeaseNamespace, le.LeaseName, ref("Lease", stray))})
			}
			for _, r := range c.m.Roles {
				// Compare a Role of this workload's, or one nobody is bound to;
				// another workload's Role names its own Lease.
				if r.Namespace != le.LeaseNamespace || !c.rbac.boundTo(w, "Role", r.Namespace, r.Name) && c.bound("Role", r.Name) {
					continue
				}
				for _, rule := range r.Rules {
					if !namesLeases(rule) || !containsAny(rule.Verbs, "get", "update", "*") || len(rule.ResourceNames) == 0 {
						continue
					}
					if !containsString(rule.ResourceNames, le.LeaseName) && !namesAny(named, r.Namespace, rule.ResourceNames) {
						out = append(out, Finding{Object: ref("Role", r),
							Message: fmt.Sprintf("resourceNames %v do not include the Lease %q the pods of %s elect on", rule.ResourceNames, le.LeaseName, w.Ref())})
					}
				}
			}
		}
	}
	return out
}

func containsAny(list []string, xs ...string) bool {
	for _, x := range xs {
		if containsString(list, x) {
			return true
		}
	}
	return false
}

// electedLeases are the Leases, as namespace/name, that leader-elected
// workloads elect on.
func (c *checker) electedLeases() map[string]bool {
	named := map[string]bool{}
	for _, w := range c.m.Workloads {
		for _, le := range w.Elections {
			if le.LeaseName != "" {
				named[le.LeaseNamespace+"/"+le.LeaseName] = true
			}
		}
	}
	return named
}

// strayLease is a rendered Lease that no workload elects on, or nil.
func (c *checker) strayLease(named map[string]bool) *coordinationv1.Lease {
	for _, l := range c.m.Leases {
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

func (c *checker) hasLease(namespace, name string) bool {
	for _, l := range c.m.Leases {
		if l.Namespace == namespace && l.Name == name {
			return true
		}
	}
	return false
}
