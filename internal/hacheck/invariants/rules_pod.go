package invariants

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// checkSpread: a workload that declares no spread is left to the default
// scheduler profile's PodTopologySpread system defaults (hostname maxSkew 3,
// zone maxSkew 5, both ScheduleAnyway): a score, not a constraint, and one a
// cluster may configure away. The chart should say what it needs.
func checkSpread(c *checker) []Finding {
	var out []Finding
	for _, w := range c.m.Workloads {
		if w.PerNode() || w.MaxReplicas < 2 {
			continue
		}
		spec, pod := w.Template.Spec, w.podLabels()
		spread := false
		if a := spec.Affinity; a != nil && a.PodAntiAffinity != nil {
			for _, t := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
				spread = spread || selects(t.LabelSelector, pod)
			}
			for _, t := range a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
				spread = spread || selects(t.PodAffinityTerm.LabelSelector, pod)
			}
		}
		for _, tsc := range spec.TopologySpreadConstraints {
			spread = spread || selects(tsc.LabelSelector, pod)
		}
		if !spread {
			count := fmt.Sprintf("%d replicas", w.Replicas)
			if w.MaxReplicas != w.Replicas {
				count = fmt.Sprintf("%d to %d replicas", w.Replicas, w.MaxReplicas)
			}
			out = append(out, Finding{Object: w.Ref(),
				Message: fmt.Sprintf("%s with no pod anti-affinity or topology spread selecting them: only kube-scheduler's system default spreading (a soft preference, where the cluster keeps it) keeps them apart, and it may put every replica on one node", count)})
		}
	}
	return out
}

// servedBy are the Services in the workload's namespace that select its pods.
func (m *Manifest) servedBy(w *Workload) []*corev1.Service {
	var out []*corev1.Service
	for _, s := range m.Services {
		if s.Namespace == w.Namespace && len(s.Spec.Selector) > 0 && selectorSubset(s.Spec.Selector, w.Template.Labels) {
			out = append(out, s)
		}
	}
	return out
}

func checkServiceSelector(c *checker) []Finding {
	var out []Finding
	for _, s := range c.m.Services {
		if len(s.Spec.Selector) == 0 {
			continue
		}
		var near *Workload
		matched := false
		for _, w := range c.m.Workloads {
			if w.Namespace != s.Namespace {
				continue
			}
			if selectorSubset(s.Spec.Selector, w.Template.Labels) {
				matched = true
			} else if near == nil && sharesLabel(s.Spec.Selector, w.Template.Labels) {
				near = w
			}
		}
		switch {
		case matched:
		case near != nil:
			out = append(out, Finding{Object: ref("Service", s),
				Message: fmt.Sprintf("selector %v matches the pods of no workload (%s's pods lack %s): the Service has no endpoints", s.Spec.Selector, near.Ref(), missingLabels(s.Spec.Selector, near.Template.Labels))})
		default:
			out = append(out, Finding{Object: ref("Service", s), Severity: SeverityInfo,
				Message: fmt.Sprintf("selector %v matches no pod this chart renders: the pods must come from elsewhere (an operator, another release), or the Service has no endpoints", s.Spec.Selector)})
		}
		for k := range s.Spec.Selector {
			if strings.Contains(strings.ToLower(k), "leader") {
				out = append(out, Finding{Object: ref("Service", s),
					Message: fmt.Sprintf("selects by %q: every replica serves the API, so the Service must not depend on leadership", k)})
			}
		}
	}
	for _, w := range c.m.Workloads {
		if w.Election.ServesAPI && len(c.m.servedBy(w)) == 0 {
			out = append(out, Finding{Object: w.Ref(),
				Message: fmt.Sprintf("no Service selects these pods, and %s serves an API: clients cannot reach every replica", w.Election.Controller)})
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

func sharesLabel(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] == v && !strings.HasSuffix(k, "/managed-by") && !strings.HasSuffix(k, "/part-of") {
			return true
		}
	}
	return false
}

func missingLabels(selector, labels map[string]string) string {
	var out []string
	for k, v := range selector {
		if labels[k] != v {
			out = append(out, k+"="+v)
		}
	}
	return strings.Join(out, ", ")
}

// trafficServices are the Services that send clients to the workload's
// pods: a Service whose every port is a metrics port only feeds a scraper.
func (m *Manifest) trafficServices(w *Workload) []*corev1.Service {
	var out []*corev1.Service
	for _, s := range m.servedBy(w) {
		for _, p := range s.Spec.Ports {
			if !isMetricsPort(p.Name) && !isMetricsPort(p.TargetPort.StrVal) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

func isMetricsPort(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "metric") || strings.Contains(n, "prometheus") || strings.Contains(n, "monitor")
}

// checkProbes: readiness matters for pods a Service routes clients to (or
// that the controller table says serve an API): a warning, since a startup
// probe already keeps a starting pod out of the endpoints. Leadership must
// never decide a probe of a pod that elects: an error.
func checkProbes(c *checker) []Finding {
	var out []Finding
	for _, w := range c.m.Workloads {
		served := w.Election.ServesAPI || !w.Election.Known && len(c.m.trafficServices(w)) > 0
		elects := len(w.Elections) > 0
		if !served && !elects {
			continue
		}
		for _, ctr := range w.Template.Spec.Containers {
			if served && ctr.ReadinessProbe == nil && ctr.StartupProbe == nil && len(ctr.Ports) > 0 {
				out = append(out, Finding{Object: w.Ref(), Severity: SeverityWarning,
					Message: fmt.Sprintf("container %s has no readiness probe: a replica receives traffic before its API serves", ctr.Name)})
			}
			// A slice, not a map: findings come out in the same order every run.
			probes := []struct {
				name  string
				probe *corev1.Probe
			}{{"readiness", ctr.ReadinessProbe}, {"liveness", ctr.LivenessProbe}, {"startup", ctr.StartupProbe}}
			for _, p := range probes {
				if elects && probeMentionsLeader(p.probe) {
					out = append(out, Finding{Object: w.Ref(),
						Message: fmt.Sprintf("container %s %s probe depends on leadership: non-leaders would be %s", ctr.Name, p.name, map[bool]string{true: "restarted", false: "removed from the Service"}[p.name != "readiness"])})
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

// evaluator is built once: building it is most of the rule's cost.
var evaluator, evaluatorErr = policy.NewEvaluator(policy.DefaultChecks(), nil)

func checkPodSecurity(c *checker) []Finding {
	if evaluatorErr != nil {
		return []Finding{{Object: "(evaluator)", Message: evaluatorErr.Error()}}
	}
	var out []Finding
	for _, w := range c.m.Workloads {
		results := evaluator.EvaluatePod(restricted, &w.Template.ObjectMeta, &w.Template.Spec)
		for _, r := range results {
			if !r.Allowed {
				out = append(out, Finding{Object: w.Ref(),
					Message: fmt.Sprintf("violates restricted Pod Security: %s (%s)", r.ForbiddenReason, r.ForbiddenDetail)})
			}
		}
	}
	return out
}
