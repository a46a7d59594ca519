package invariants

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// pdbsFor are the PDBs in the Deployment's namespace that select its pods.
func (m *Manifest) pdbsFor(d *appsv1.Deployment) []*policyv1.PodDisruptionBudget {
	var out []*policyv1.PodDisruptionBudget
	for _, p := range m.PDBs {
		if p.Namespace == d.Namespace && selects(p.Spec.Selector, podLabels(d)) {
			out = append(out, p)
		}
	}
	return out
}

func checkPDBPresent(m *Manifest, _ Expectation) []Finding {
	var out []Finding
	for _, d := range m.Deployments {
		n, pdbs := replicas(d), m.pdbsFor(d)
		switch {
		case n > 1 && len(pdbs) == 0 && len(m.PDBs) == 0:
			out = append(out, Finding{Rule: "pdb-present", Object: ref("Deployment", d),
				Message: fmt.Sprintf("%d replicas and no PodDisruptionBudget: a node drain may evict every replica at once", n)})
		case n == 1 && len(pdbs) > 0:
			out = append(out, Finding{Rule: "pdb-present", Object: ref("PodDisruptionBudget", pdbs[0]),
				Message: "a PodDisruptionBudget on a single replica blocks node drains; render it only when replicas > 1"})
		}
	}
	return out
}

// checkPDBSelector: a PDB that exists but does not select the pods protects
// nothing. Every label of matchLabels must be on the pod template, not just one.
func checkPDBSelector(m *Manifest, _ Expectation) []Finding {
	var out []Finding
	for _, p := range m.PDBs {
		matched := false
		for _, d := range m.Deployments {
			matched = matched || (p.Namespace == d.Namespace && selects(p.Spec.Selector, podLabels(d)))
		}
		if !matched {
			out = append(out, Finding{Rule: "pdb-selector", Object: ref("PodDisruptionBudget", p),
				Message: "selector does not match the pod template labels of any Deployment (every matchLabels entry must match)"})
		}
	}
	return out
}

// allowedDisruptions is what the disruption controller allows with every pod
// healthy: percentages are rounded up for both minAvailable and
// maxUnavailable (GetScaledValueFromIntOrPercent with roundUp=true).
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
	return 0, fmt.Errorf("neither minAvailable nor maxUnavailable is set")
}

func checkPDBDisruptions(m *Manifest, _ Expectation) []Finding {
	var out []Finding
	for _, d := range m.Deployments {
		expected := m.minReplicas(d)
		for _, p := range m.pdbsFor(d) {
			allowed, err := allowedDisruptions(p, expected)
			switch {
			case err != nil:
				out = append(out, Finding{Rule: "pdb-disruptions", Object: ref("PodDisruptionBudget", p), Message: err.Error()})
			case allowed < 1:
				out = append(out, Finding{Rule: "pdb-disruptions", Object: ref("PodDisruptionBudget", p),
					Message: fmt.Sprintf("allows %d disruptions at %d replicas: a node drain would block forever", allowed, expected)})
			}
		}
	}
	return out
}

// checkRollout: the Deployment controller rounds maxSurge up and
// maxUnavailable down, and uses maxUnavailable=1 when both resolve to 0.
func checkRollout(m *Manifest, _ Expectation) []Finding {
	var out []Finding
	for _, d := range m.Deployments {
		n := replicas(d)
		if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
			if n > 1 {
				out = append(out, Finding{Rule: "rollout", Object: ref("Deployment", d),
					Message: fmt.Sprintf("Recreate strategy takes all %d replicas down on every rollout; use RollingUpdate with maxUnavailable <= 1", n)})
			}
			continue
		}
		unavailable, err := maxUnavailable(d, n)
		if err != nil {
			out = append(out, Finding{Rule: "rollout", Object: ref("Deployment", d), Message: err.Error()})
			continue
		}
		if n > 1 && unavailable > 1 {
			out = append(out, Finding{Rule: "rollout", Object: ref("Deployment", d),
				Message: fmt.Sprintf("maxUnavailable resolves to %d of %d replicas: a rollout drops below replicas-1 ready", unavailable, n)})
		}
	}
	return out
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
