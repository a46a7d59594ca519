package invariants

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/primus-dev/primus/internal/hacheck/render"
)

// resourcePolicyKeep is Helm's annotation that keeps an object a release
// no longer renders.
const resourcePolicyKeep = "helm.sh/resource-policy"

// AnalyzeUpgrade checks the next revision (next) as Analyze does, then the
// upgrade from the installed one (installed) with the rules only two renders
// can judge: a Lease that moves under a rolling update, a Lease Helm would
// delete, an immutable selector that changes, a PodDisruptionBudget dropped
// while replicas > 1.
func AnalyzeUpgrade(installed, next []render.Object, exp Expectation) (*Report, error) {
	rep, err := Analyze(next, exp)
	if err != nil {
		return nil, err
	}
	oldM, err := newManifest(installed, exp)
	if err != nil {
		return nil, fmt.Errorf("the installed revision: %w", err)
	}
	newM, err := newManifest(next, exp)
	if err != nil {
		return nil, err
	}
	u := &upgrade{old: oldM, new: newM}
	for _, r := range Rules() {
		if r.upgrade == nil || exp.Rules[r.ID].Disabled {
			continue
		}
		fs := finish(r, exp.Rules[r.ID], r.upgrade(u), newM.meta, oldM.meta)
		rep.Findings = append(rep.Findings, fs...)
	}
	rep.Findings = u.dropDuplicates(rep.Findings)
	return rep, nil
}

// upgrade is what the upgrade rules read: both revisions.
type upgrade struct {
	old, new *Manifest
}

// pairs are the workloads both revisions render, by ref.
func (u *upgrade) pairs() [][2]*Workload {
	old := map[string]*Workload{}
	for _, w := range u.old.Workloads {
		old[w.Ref()] = w
	}
	var out [][2]*Workload
	for _, w := range u.new.Workloads {
		if o, ok := old[w.Ref()]; ok {
			out = append(out, [2]*Workload{o, w})
		}
	}
	return out
}

// rolls reports whether an upgrade runs old and new pods side by side: a
// Deployment's RollingUpdate (the new pod starts before the old one stops),
// or a StatefulSet's RollingUpdate of more than one replica (it replaces
// one pod at a time, after the old one is gone).
func rolls(w *Workload) bool {
	switch {
	case w.Deployment != nil:
		return w.Deployment.Spec.Strategy.Type != "Recreate"
	case w.StatefulSet != nil:
		return w.StatefulSet.Spec.UpdateStrategy.Type != "OnDelete" && w.MaxReplicas > 1
	}
	return false
}

func checkUpgradeLease(u *upgrade) []Finding {
	var out []Finding
	for _, p := range u.pairs() {
		o, n := p[0].Election, p[1].Election
		if !o.Enabled || !n.Enabled || !rolls(p[1]) || o.LeaseName == "" || n.LeaseName == "" {
			continue
		}
		if o.LeaseNamespace != n.LeaseNamespace || o.LeaseName != n.LeaseName {
			out = append(out, Finding{Object: p[1].Ref(),
				Message: fmt.Sprintf("the installed pods elect on Lease %s/%s and the upgraded ones on %s/%s: during the rolling update each side has a leader, so the controllers run twice; keep the Lease, or upgrade with strategy Recreate",
					o.LeaseNamespace, o.LeaseName, n.LeaseNamespace, n.LeaseName)})
		}
	}
	return out
}

func checkUpgradeLeaseKept(u *upgrade) []Finding {
	var out []Finding
	kept := map[string]bool{}
	for _, l := range u.new.Leases {
		kept[ref("Lease", l)] = true
	}
	for _, l := range u.old.Leases {
		if kept[ref("Lease", l)] || l.Annotations[resourcePolicyKeep] == "keep" {
			continue
		}
		out = append(out, Finding{Object: ref("Lease", l),
			Message: fmt.Sprintf("the installed revision renders this Lease and the upgrade does not: Helm deletes the live Lease under its leader; annotate it %s: keep, or keep rendering it", resourcePolicyKeep)})
	}
	return out
}

func checkUpgradeSelector(u *upgrade) []Finding {
	var out []Finding
	for _, p := range u.pairs() {
		if !equality.Semantic.DeepEqual(normSelector(p[0].Selector), normSelector(p[1].Selector)) {
			out = append(out, Finding{Object: p[1].Ref(),
				Message: fmt.Sprintf("spec.selector changes from %s to %s: the field is immutable, so helm upgrade fails; keep the selector, or delete the %s first", metav1.FormatLabelSelector(p[0].Selector), metav1.FormatLabelSelector(p[1].Selector), p[1].Kind)})
		}
	}
	return out
}

func normSelector(s *metav1.LabelSelector) *metav1.LabelSelector {
	if s == nil || len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0 {
		return &metav1.LabelSelector{}
	}
	return s
}

func checkUpgradePDB(u *upgrade) []Finding {
	var out []Finding
	for _, p := range u.pairs() {
		if p[1].PerNode() || p[1].Replicas < 2 || len(u.old.pdbsFor(p[0])) == 0 || len(u.new.pdbsFor(p[1])) > 0 {
			continue
		}
		out = append(out, Finding{Object: p[1].Ref(),
			Message: fmt.Sprintf("the upgrade removes the PodDisruptionBudget (%s) while %d replicas run: a node drain may then evict every replica at once", ref("PodDisruptionBudget", u.old.pdbsFor(p[0])[0]), p[1].Replicas)})
	}
	return out
}

// dropDuplicates keeps one finding per defect: a PDB the upgrade removes is
// upgrade-pdb's, not pdb-present's too.
func (u *upgrade) dropDuplicates(fs []Finding) []Finding {
	removed := map[string]bool{}
	for _, f := range fs {
		if f.Rule == "upgrade-pdb" {
			removed[f.Object] = true
		}
	}
	out := fs[:0]
	for _, f := range fs {
		if f.Rule == "pdb-present" && removed[f.Object] {
			continue
		}
		out = append(out, f)
	}
	return out
}
