package invariants

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

func checkSpread(m *Manifest, _ Expectation) []Finding {
	var out []Finding
	for _, d := range m.Deployments {
		if replicas(d) < 2 {
			continue
		}
		spec, pod := d.Spec.Template.Spec, podLabels(d)
		spread := false
		if a := spec.Affinity; a != nil && a.PodAntiAffinity != nil {
			for _, t := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
				spread = spread || selects(t.LabelSelector, pod)
			}
			for _, t := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
				spread = spread || selects(t.PodAffinityTerm.LabelSelector, pod)
			}
		}
		for _, c := range spec.TopologySpreadConstraints {
			spread = spread || selects(c.LabelSelector, pod)
		}
		if !spread {
			out = append(out, Finding{Rule: "spread", Object: ref("Deployment", d),
				Message: fmt.Sprintf("%d replicas with no pod anti-affinity or topology spread selecting them: the scheduler may put every replica on one node", replicas(d))})
		}
	}
	return out
}

func checkServiceSelector(m *Manifest, _ Expectation) []Finding {
	var out []Finding
	for _, s := range m.Services {
		if len(s.Spec.Selector) == 0 {
			continue
		}
		matched := false
		for _, d := range m.Deployments {
			matched = matched || (d.Namespace == s.Namespace && selectorSubset(s.Spec.Selector, d.Spec.Template.Labels))
		}
		if !matched {
			out = append(out, Finding{Rule: "service-selector", Object: ref("Service", s),
				Message: "selector matches the pods of no Deployment: the Service has no endpoints"})
		}
		for k := range s.Spec.Selector {
			if strings.Contains(strings.ToLower(k), "leader") {
				out = append(out, Finding{Rule: "service-selector", Object: ref("Service", s),
					Message: fmt.Sprintf("selects by %q: every replica serves the API, so the Service must not depend on leadership", k)})
			}
		}
	}
	for _, d := range m.Deployments {
		if !leaderElection(d).Configured {
			continue
		}
		served := false
		for _, s := range m.Services {
			served = served || (s.Namespace == d.Namespace && len(s.Spec.Selector) > 0 && selectorSubset(s.Spec.Selector, d.Spec.Template.Labels))
		}
		if !served {
			out = append(out, Finding{Rule: "service-selector", Object: ref("Deployment", d),
				Message: "no Service selects these pods: clients cannot reach every replica's API"})
		}
	}
	return out
}

func selectorSubset(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func checkProbes(m *Manifest, _ Expectation) []Finding {
	var out []Finding
	for _, d := range m.Deployments {
		if !leaderElection(d).Configured {
			continue
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.ReadinessProbe == nil {
				out = append(out, Finding{Rule: "probes", Object: ref("Deployment", d),
					Message: fmt.Sprintf("container %s has no readiness probe: a replica receives traffic before its API serves", c.Name)})
			}
			// A slice, not a map: findings come out in the same order every run.
			probes := []struct {
				name  string
				probe *corev1.Probe
			}{{"readiness", c.ReadinessProbe}, {"liveness", c.LivenessProbe}, {"startup", c.StartupProbe}}
			for _, p := range probes {
				if probeMentionsLeader(p.probe) {
					out = append(out, Finding{Rule: "probes", Object: ref("Deployment", d),
						Message: fmt.Sprintf("container %s %s probe depends on leadership: non-leaders would be %s", c.Name, p.name, map[bool]string{true: "restarted", false: "removed from the Service"}[p.name != "readiness"])})
				}
			}
		}
	}
	return out
}

func probeMentionsLeader(p *corev1.Probe) bool {
	if p == nil {
		return false
	}
	var parts []string
	if p.HTTPGet != nil {
		parts = append(parts, p.HTTPGet.Path)
	}
	if p.Exec != nil {
		parts = append(parts, p.Exec.Command...)
	}
	return strings.Contains(strings.ToLower(strings.Join(parts, " ")), "leader")
}

// restricted is the latest restricted Pod Security Standard.
var restricted = api.LevelVersion{Level: api.LevelRestricted, Version: api.LatestVersion()}

func checkPodSecurity(m *Manifest, _ Expectation) []Finding {
	var out []Finding
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		return []Finding{{Rule: "pod-security", Object: "(evaluator)", Message: err.Error()}}
	}
	for _, d := range m.Deployments {
		results := evaluator.EvaluatePod(restricted, &d.Spec.Template.ObjectMeta, &d.Spec.Template.Spec)
		for _, r := range results {
			if !r.Allowed {
				out = append(out, Finding{Rule: "pod-security", Object: ref("Deployment", d),
					Message: fmt.Sprintf("violates restricted Pod Security: %s (%s)", r.ForbiddenReason, r.ForbiddenDetail)})
			}
		}
	}
	return out
}
