package invariants

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// pdbsFor are the PDBs in the workload's namespace that select its pods.
func (m *Manifest) pdbsFor(w *Workload) []*policyv1.PodDisruptionBudget {
	var out []*policyv1.PodDisruptionBudget
	for _, p := range m.PDBs {
		if p.Namespace == w.Namespace && pdbSelects(p, w.podLabels()) {
			out = append(out, p)
		}
	}
	return out
}

// pdbSelects reports whether a PDB selects the pod labels. Unlike the
// scheduling selectors, policy/v1 reads an empty selector ({}) as every pod
// in the namespace; a missing selector selects none.
func pdbSelects(p *policyv1.PodDisruptionBudget, pod labels.Set) bool {
	s, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
	return err == nil && s.Matches(pod)
}

// strayPDB reports whether a PDB in the namespace selects no workload
// (pdb-selector reports it; pdb-present does not report it again).
func (m *Manifest) strayPDB(namespace string) bool {
	for _, p := range m.PDBs {
		if p.Namespace == namespace && !m.pdbMatched(p) {
			return true
		}
	}
	return false
}

// pdbMatched reports whether the PDB selects the pods of some workload.
func (m *Manifest) pdbMatched(p *policyv1.PodDisruptionBudget) bool {
	for _, w := range m.Workloads {
		if p.Namespace == w.Namespace && pdbSelects(p, w.podLabels()) {
			return true
		}
	}
	return false
}

// nearPDB reports whether a workload of the PDB's namespace carries one of
// its matchLabels: a near miss, not pods the chart does not render.
func (m *Manifest) nearPDB(p *policyv1.PodDisruptionBudget) bool {
	if p.Spec.Selector == nil {
		return false
	}
	for _, w := range m.Workloads {
		if w.Namespace == p.Namespace && sharesLabel(p.Spec.Selector.MatchLabels, w.Template.Labels) {
			return true
		}
	}
	return false
}

// fixedSingle is a workload that always runs exactly one pod.
func fixedSingle(w *Workload) bool { return w.Replicas == 1 && w.ScaledBy == "" }

func checkPDBPresent(c *checker) []Finding {
	var out []Finding
	for _, w := range c.m.Workloads {
		if w.PerNode() {
			// kubectl drain never evicts a DaemonSet's pods (drain's
			// daemonSetFilter skips them with or without
			// --ignore-daemonsets), and the DaemonSet controller keeps one
			// on a cordoned node: no budget is needed. pdb-disruptions
			// judges a budget that is there.
			continue
		}
		n, pdbs := w.Replicas, c.m.pdbsFor(w)
		switch {
		case n > 1 && len(pdbs) == 0 && !c.m.strayPDB(w.Namespace):
			out = append(out, Finding{Object: w.Ref(),
				Message: fmt.Sprintf("%d replicas and no PodDisruptionBudget: a node drain may evict every replica at once", n)})
		case n > 1 && len(pdbs) > 0 && protectsNothing(pdbs, n):
			out = append(out, Finding{Object: ref("PodDisruptionBudget", pdbs[0]),
				Message: fmt.Sprintf("allows all %d replicas to be disrupted at once (%s), so it protects nothing: a node drain may evict every replica; use maxUnavailable: 1", n, budgetOf(pdbs[0]))})
		case fixedSingle(w) && len(pdbs) > 0:
			if allowed, err := allowedDisruptions(pdbs[0], 1); err == nil && allowed < 1 {
				out = append(out, Finding{Object: ref("PodDisruptionBudget", pdbs[0]),
					Message: fmt.Sprintf("a PodDisruptionBudget (%s) on a single replica blocks node drains; render it only when replicas > 1, or use maxUnavailable: 1", budgetOf(pdbs[0]))})
			}
		}
	}
	return out
}

// protectsNothing: every budget lets every pod go at once.
func protectsNothing(pdbs []*policyv1.PodDisruptionBudget, n int) bool {
	for _, p := range pdbs {
		if allowed, err := allowedDisruptions(p, n); err != nil || allowed < n {
			return false
		}
	}
	return true
}

func budgetOf(p *policyv1.PodDisruptionBudget) string {
	switch {
	case p.Spec.MaxUnavailable != nil:
		return "maxUnavailable: " + p.Spec.MaxUnavailable.String()
	case p.Spec.MinAvailable != nil:
		return "minAvailable: " + p.Spec.MinAvailable.String()
	}
	return "neither minAvailable nor maxUnavailable set"
}

// checkPDBSelector: a PDB that exists but does not select the pods protects
// nothing. Every label of matchLabels must be on the pod template, not just one.
func checkPDBSelector(c *checker) []Finding {
	var out []Finding
	for _, p := range c.m.PDBs {
		if c.m.pdbMatched(p) {
			continue
		}
		if c.m.nearPDB(p) {
			out = append(out, Finding{Object: ref("PodDisruptionBudget", p),
				Message: "selector does not match the pod template labels of any workload (every matchLabels entry must match)"})
			continue
		}
		out = append(out, Finding{Object: ref("PodDisruptionBudget", p), Severity: SeverityInfo,
			Message: "selector does not match the pod template labels of any workload this chart renders: the pods must come from elsewhere (an operator, another release), or it protects nothing"})
	}
	return out
}

// allowedDisruptions is what the disruption controller allows with every pod
// healthy: percentages are rounded up for both minAvailable and
// maxUnavailable (GetScaledValueFromIntOrPercent with roundUp=true); a
// budget with neither allows none.
func allowedDisruptions(p *policyv1.PodDisruptionBudget, expected int) (int, error) {
	switch {
	case p.Spec.MaxUnavailable != nil:
		v, err := intstr.GetScaledValueFromIntOrPercent(p.Spec.MaxUnavailable, expected, true)
		if err != nil {
			return 0, err
		}
		return min(v, expected), nil
	case p.Spec.MinAvailable != nil:
		v, err := intstr.GetScaledValueFromIntOrPercent(p.Spec.MinAvailable, expected, true)
		if err != nil {
			return 0, err
		}
		return max(expected-v, 0), nil
	}
	// policy/v1 defaults neither field, and the disruption controller then
	// expects 0 pods, which it answers with 0 disruptions allowed.
	return 0, nil
}

func checkPDBDisruptions(c *checker) []Finding {
	var out []Finding
	for _, w := range c.m.Workloads {
		if w.PerNode() {
			out = append(out, perNodeBudgets(c.m, w)...)
			continue
		}
		if fixedSingle(w) {
			continue // pdb-present judges a budget on a single replica
		}
		expected := w.Replicas
		for _, p := range c.m.pdbsFor(w) {
			allowed, err := allowedDisruptions(p, expected)
			switch {
			case err != nil:
				out = append(out, Finding{Object: ref("PodDisruptionBudget", p), Message: err.Error()})
			case allowed < 1:
				out = append(out, Finding{Object: ref("PodDisruptionBudget", p),
					Message: fmt.Sprintf("allows %d disruptions at %d replicas (%s): a node drain would block forever", allowed, expected, budgetOf(p))})
			}
		}
	}
	return out
}

// perNodeBudgets judges the PDBs over a DaemonSet's pods. The disruption
// controller computes maxUnavailable and a percentage minAvailable from the
// scale of the pods' controller, and a DaemonSet has no scale subresource:
// the sync fails, and its failSafe sets disruptionsAllowed to 0, so every
// eviction of those pods is refused. An integer minAvailable is counted
// against the pods that exist (one a node), which a render cannot know.
func perNodeBudgets(m *Manifest, w *Workload) []Finding {
	var out []Finding
	for _, p := range m.pdbsFor(w) {
		if p.Spec.MinAvailable != nil && p.Spec.MinAvailable.Type == intstr.Int {
			continue
		}
		if p.Spec.MinAvailable == nil && p.Spec.MaxUnavailable == nil {
			out = append(out, Finding{Object: ref("PodDisruptionBudget", p), Severity: SeverityWarning,
				Message: fmt.Sprintf("selects the pods of %s with %s: the disruption controller expects 0 pods and allows 0 disruptions, so every eviction of these pods is refused; use an integer minAvailable, or no PDB (kubectl drain skips DaemonSet pods)",
					w.Ref(), budgetOf(p))})
			continue
		}
		out = append(out, Finding{Object: ref("PodDisruptionBudget", p), Severity: SeverityWarning,
			Message: fmt.Sprintf("selects the pods of %s with %s: the disruption controller cannot scale a DaemonSet (no scale subresource), so the budget allows 0 disruptions and every eviction of these pods is refused; use an integer minAvailable, or no PDB (kubectl drain skips DaemonSet pods)",
				w.Ref(), budgetOf(p))})
	}
	return out
}

// checkRollout: the Deployment controller rounds maxSurge up and
// maxUnavailable down, and uses maxUnavailable=1 when both resolve to 0; a
// StatefulSet's RollingUpdate takes maxUnavailable (default 1) pods at a time;
// a DaemonSet's takes maxUnavailable (default 1) nodes' pods at a time,
// rounded up from a percentage of nodes the render cannot know, so only
// 100% (every node's pod at once) is judged.
func checkRollout(c *checker) []Finding {
	var out []Finding
	for _, w := range c.m.Workloads {
		n := w.Replicas
		switch {
		case w.Deployment != nil:
			d := w.Deployment
			if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
				if n > 1 {
					out = append(out, Finding{Object: w.Ref(),
						Message: fmt.Sprintf("Recreate strategy takes all %d replicas down on every rollout; use RollingUpdate with maxUnavailable <= 1", n)})
				}
				continue
			}
			unavailable, err := maxUnavailable(d, n)
			if err != nil {
				out = append(out, Finding{Object: w.Ref(), Message: err.Error()})
				continue
			}
			if n > 1 && unavailable > 1 {
				out = append(out, Finding{Object: w.Ref(),
					Message: fmt.Sprintf("maxUnavailable resolves to %d of %d replicas: a rollout drops below replicas-1 ready", unavailable, n)})
			}
		case w.StatefulSet != nil:
			s := w.StatefulSet.Spec.UpdateStrategy
			if s.Type == appsv1.OnDeleteStatefulSetStrategyType || s.RollingUpdate == nil || s.RollingUpdate.MaxUnavailable == nil {
				continue
			}
			u, err := intstr.GetScaledValueFromIntOrPercent(s.RollingUpdate.MaxUnavailable, n, false)
			if err != nil {
				out = append(out, Finding{Object: w.Ref(), Message: "maxUnavailable: " + err.Error()})
				continue
			}
			if n > 1 && u > 1 {
				out = append(out, Finding{Object: w.Ref(),
					Message: fmt.Sprintf("maxUnavailable resolves to %d of %d replicas: a rollout drops below replicas-1 ready", u, n)})
			}
		case w.DaemonSet != nil:
			if f, ok := perNodeRollout(w); ok {
				out = append(out, f)
			}
		}
	}
	return out
}

// perNodeRollout: a DaemonSet whose RollingUpdate replaces every node's pod
// at once (maxUnavailable 100%) leaves no node with its agent for a while.
func perNodeRollout(w *Workload) (Finding, bool) {
	s := w.DaemonSet.Spec.UpdateStrategy
	if s.Type == appsv1.OnDeleteDaemonSetStrategyType || s.RollingUpdate == nil || s.RollingUpdate.MaxUnavailable == nil {
		return Finding{}, false
	}
	const nodes = 100 // a percentage resolves alike at any node count only at 100%
	u, err := intstr.GetScaledValueFromIntOrPercent(s.RollingUpdate.MaxUnavailable, nodes, true)
	if err != nil {
		return Finding{Object: w.Ref(), Message: "maxUnavailable: " + err.Error()}, true
	}
	if s.RollingUpdate.MaxUnavailable.Type != intstr.String || u < nodes {
		return Finding{}, false
	}
	return Finding{Object: w.Ref(),
		Message: fmt.Sprintf("maxUnavailable %s takes down the pod on every node at once on each rollout; use maxUnavailable: 1 (or maxSurge: 1, maxUnavailable: 0)", s.RollingUpdate.MaxUnavailable.String())}, true
}

func maxUnavailable(d *appsv1.Deployment, n int) (int, error) {
	def := intstr.FromString("25%")
	surge, unavail := &def, &def
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
		if ru.MaxSurge != nil {
			surge = ru.MaxSurge
		}
		if ru.MaxUnavailable != nil {
			unavail = ru.MaxUnavailable
		}
	}
	s, err := intstr.GetScaledValueFromIntOrPercent(surge, n, true)
	if err != nil {
		return 0, fmt.Errorf("maxSurge: %w", err)
	}
	u, err := intstr.GetScaledValueFromIntOrPercent(unavail, n, false)
	if err != nil {
		return 0, fmt.Errorf("maxUnavailable: %w", err)
	}
	if s == 0 && u == 0 {
		u = 1
	}
	return u, nil
}
