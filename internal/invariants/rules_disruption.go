package invariants

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// pdbsFor are the PDBs in the Deployment's namespace that select its pods.
func (m *Manifest) pdbsFor(d *appsv1.Deployment) []*policyv1.PodDisruptionBudget {
	var out []*policyv1.PodDisruptionBudget
	for _, p := range m.PDBs {
		if p.Namespace == d.Namespace && pdbSelects(p, podLabels(d)) {
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

// strayPDB reports whether a PDB in the namespace selects no Deployment
// (pdb-selector reports it; pdb-present does not report it again).
func (m *Manifest) strayPDB(namespace string) bool {
	for _, p := range m.PDBs {
		if p.Namespace == namespace && !m.pdbMatched(p) {
			return true
		}
	}
	return false
}

// pdbMatched reports whether the PDB selects the pods of some Deployment.
func (m *Manifest) pdbMatched(p *policyv1.PodDisruptionBudget) bool {
	for _, d := range m.Deployments {
		if p.Namespace == d.Namespace && pdbSelects(p, podLabels(d)) {
			return true
		}
	}
	return false
}

func checkPDBPresent(m *Manifest, _ Expectation) []Finding {
	var out []Finding
	for _, d := range m.Deployments {
		n, pdbs := replicas(d), m.pdbsFor(d)
		switch {
		case n > 1 && len(pdbs) == 0 && !m.strayPDB(d.Namespace):
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
		if !m.pdbMatched(p) {
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
