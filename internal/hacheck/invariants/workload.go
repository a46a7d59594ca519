package invariants

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Workload is a Deployment, StatefulSet or DaemonSet as the rules see it.
type Workload struct {
	// Kind is Deployment, StatefulSet or DaemonSet.
	Kind string `json:"kind"`
	// Name and Namespace are the object's.
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// Replicas is the one replica count every rule uses: spec.replicas (1
	// when unset), or an HPA's minReplicas when one scales the workload, so
	// budgets are judged at the fewest pods it can run. Zero for a DaemonSet
	// (one pod per node).
	Replicas int `json:"replicas"`
	// MaxReplicas is the most pods it runs outside a rollout: Replicas, or
	// the HPA's maxReplicas.
	MaxReplicas int `json:"maxReplicas"`
	// ScaledBy names the HPA that scales it, if any.
	ScaledBy string `json:"scaledBy,omitempty"`
	// Election is the pod's leader-election verdict; Elections are the
	// containers that elect (each with its own Lease).
	Election  LeaderElection   `json:"leaderElection"`
	Elections []LeaderElection `json:"-"`
	// NotElecting are the containers whose leader election is off; when
	// another container of the pod elects, Election says on and these are
	// judged one by one (a CSI controller pod runs one elected sidecar per
	// controller).
	NotElecting []LeaderElection `json:"-"`
	// ServiceAccount is the ServiceAccount the pods run as.
	ServiceAccount string `json:"serviceAccount"`

	Template    *corev1.PodTemplateSpec `json:"-"`
	Selector    *metav1.LabelSelector   `json:"-"`
	Deployment  *appsv1.Deployment      `json:"-"`
	StatefulSet *appsv1.StatefulSet     `json:"-"`
	DaemonSet   *appsv1.DaemonSet       `json:"-"`
}

// Ref names the workload as findings do.
func (w *Workload) Ref() string { return fmt.Sprintf("%s/%s/%s", w.Kind, w.Namespace, w.Name) }

// PerNode reports whether the workload is a DaemonSet: one pod per node,
// to which the replica and leader-election rules do not apply.
func (w *Workload) PerNode() bool { return w.Kind == "DaemonSet" }

// podLabels are the labels of the pod template.
func (w *Workload) podLabels() labels.Set { return labels.Set(w.Template.Labels) }

// Overlaps reports whether two of its pods can run the same code at once:
// more than one replica, or a Deployment's RollingUpdate (the new pod
// starts before the old one has stopped). A StatefulSet replaces a pod
// only after the old one is gone.
func (w *Workload) Overlaps() bool {
	if w.PerNode() {
		return false
	}
	if w.MaxReplicas > 1 {
		return true
	}
	return w.Deployment != nil && w.Deployment.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType
}

// buildWorkloads makes the Workloads from the decoded objects.
func (m *Manifest) buildWorkloads(exp Expectation) {
	reader := newElectionReader(exp, m.configMapData())
	add := func(w *Workload, replicas *int32) {
		w.Replicas = 1
		if replicas != nil {
			w.Replicas = int(*replicas)
		}
		if w.PerNode() {
			w.Replicas = 0
		}
		w.MaxReplicas = w.Replicas
		if h := m.hpaFor(w.Kind, w.Namespace, w.Name); h != nil && !w.PerNode() {
			w.ScaledBy = ref("HorizontalPodAutoscaler", h)
			w.Replicas = 1
			if h.Spec.MinReplicas != nil {
				w.Replicas = int(*h.Spec.MinReplicas)
			}
			w.MaxReplicas = max(int(h.Spec.MaxReplicas), w.Replicas)
		}
		w.ServiceAccount = podServiceAccount(w.Template.Spec)
		w.Election, w.Elections, w.NotElecting = reader.workload(w.Namespace, w.Template.Spec)
		m.Workloads = append(m.Workloads, w)
	}
	for _, d := range m.Deployments {
		add(&Workload{Kind: "Deployment", Name: d.Name, Namespace: d.Namespace, Template: &d.Spec.Template, Selector: d.Spec.Selector, Deployment: d}, d.Spec.Replicas)
	}
	for _, s := range m.StatefulSets {
		add(&Workload{Kind: "StatefulSet", Name: s.Name, Namespace: s.Namespace, Template: &s.Spec.Template, Selector: s.Spec.Selector, StatefulSet: s}, s.Spec.Replicas)
	}
	for _, s := range m.DaemonSets {
		add(&Workload{Kind: "DaemonSet", Name: s.Name, Namespace: s.Namespace, Template: &s.Spec.Template, Selector: s.Spec.Selector, DaemonSet: s}, nil)
	}
}

func (m *Manifest) hpaFor(kind, namespace, name string) *autoscalingv2.HorizontalPodAutoscaler {
	for _, h := range m.HPAs {
		t := h.Spec.ScaleTargetRef
		if h.Namespace == namespace && t.Kind == kind && t.Name == name {
			return h
		}
	}
	return nil
}

// workloadOf finds the Workload of a Deployment.
func (m *Manifest) workloadOf(d *appsv1.Deployment) *Workload {
	for _, w := range m.Workloads {
		if w.Deployment == d {
			return w
		}
	}
	return nil
}

// LeaderElected returns the first Deployment whose pods elect a leader,
// or else the first Deployment; nil when there is none.
func (m *Manifest) LeaderElected() *appsv1.Deployment {
	for _, w := range m.Workloads {
		if w.Deployment != nil && w.Election.Enabled {
			return w.Deployment
		}
	}
	if len(m.Deployments) > 0 {
		return m.Deployments[0]
	}
	return nil
}

// LeaderElectionOf reads a Deployment's leader election with the built-in
// dialects and controller table.
func LeaderElectionOf(d *appsv1.Deployment) LeaderElection { return leaderElection(d) }

func leaderElection(d *appsv1.Deployment) LeaderElection {
	le, _, _ := newElectionReader(Expectation{}, nil).workload(d.Namespace, d.Spec.Template.Spec)
	return le
}

// ServiceAccountOf is the ServiceAccount a Deployment's pods run as.
func ServiceAccountOf(d *appsv1.Deployment) string { return serviceAccount(d) }

// PDBsFor are the PodDisruptionBudgets that select the Deployment's pods.
func (m *Manifest) PDBsFor(d *appsv1.Deployment) []*policyv1.PodDisruptionBudget {
	if w := m.workloadOf(d); w != nil {
		return m.pdbsFor(w)
	}
	return nil
}
