package invariants

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"primus.dev/primus/internal/render"
)

// Manifest is a rendered release decoded into the typed objects the rules
// read. Objects without a namespace are placed in DefaultNamespace.
type Manifest struct {
	Deployments         []*appsv1.Deployment
	Leases              []*coordinationv1.Lease
	Roles               []*rbacv1.Role
	RoleBindings        []*rbacv1.RoleBinding
	ClusterRoles        []*rbacv1.ClusterRole
	ClusterRoleBindings []*rbacv1.ClusterRoleBinding
	PDBs                []*policyv1.PodDisruptionBudget
	Services            []*corev1.Service
	HPAs                []*autoscalingv2.HorizontalPodAutoscaler
}

// DefaultNamespace is assumed for namespaced objects rendered without one.
const DefaultNamespace = "default"

// NewManifest decodes the kinds the rules know; other kinds are ignored.
func NewManifest(objs []render.Object) (*Manifest, error) {
	m := &Manifest{}
	for _, o := range objs {
		var target any
		switch o.GetKind() {
		case "Deployment":
			d := &appsv1.Deployment{}
			m.Deployments, target = append(m.Deployments, d), d
		case "Lease":
			l := &coordinationv1.Lease{}
			m.Leases, target = append(m.Leases, l), l
		case "Role":
			r := &rbacv1.Role{}
			m.Roles, target = append(m.Roles, r), r
		case "RoleBinding":
			r := &rbacv1.RoleBinding{}
			m.RoleBindings, target = append(m.RoleBindings, r), r
		case "ClusterRole":
			r := &rbacv1.ClusterRole{}
			m.ClusterRoles, target = append(m.ClusterRoles, r), r
		case "ClusterRoleBinding":
			r := &rbacv1.ClusterRoleBinding{}
			m.ClusterRoleBindings, target = append(m.ClusterRoleBindings, r), r
		case "PodDisruptionBudget":
			p := &policyv1.PodDisruptionBudget{}
			m.PDBs, target = append(m.PDBs, p), p
		case "Service":
			s := &corev1.Service{}
			m.Services, target = append(m.Services, s), s
		case "HorizontalPodAutoscaler":
			if !strings.HasPrefix(o.GetAPIVersion(), "autoscaling/v2") {
				continue
			}
			h := &autoscalingv2.HorizontalPodAutoscaler{}
			m.HPAs, target = append(m.HPAs, h), h
		default:
			continue
		}
		if err := o.Into(target); err != nil {
			return nil, err
		}
		if meta, ok := target.(metav1.Object); ok && meta.GetNamespace() == "" && o.GetKind() != "ClusterRole" && o.GetKind() != "ClusterRoleBinding" {
			meta.SetNamespace(DefaultNamespace)
		}
	}
	return m, nil
}

// ref names an object for a finding.
func ref(kind string, obj metav1.Object) string {
	if obj.GetNamespace() == "" {
		return kind + "/" + obj.GetName()
	}
	return fmt.Sprintf("%s/%s/%s", kind, obj.GetNamespace(), obj.GetName())
}

// replicas is a Deployment's replica count (1 when unset, as the API defaults it).
func replicas(d *appsv1.Deployment) int {
	if d.Spec.Replicas == nil {
		return 1
	}
	return int(*d.Spec.Replicas)
}

// minReplicas is the fewest replicas the workload can run at: its replicas,
// or an HPA's minReplicas when an HPA scales it.
func (m *Manifest) minReplicas(d *appsv1.Deployment) int {
	n := replicas(d)
	for _, h := range m.HPAs {
		t := h.Spec.ScaleTargetRef
		if h.Namespace == d.Namespace && t.Kind == "Deployment" && t.Name == d.Name {
			n = 1
			if h.Spec.MinReplicas != nil {
				n = int(*h.Spec.MinReplicas)
			}
		}
	}
	return n
}

// podLabels are the labels of a Deployment's pod template.
func podLabels(d *appsv1.Deployment) labels.Set {
	return labels.Set(d.Spec.Template.Labels)
}

// selects reports whether a label selector selects the given pod labels;
// an empty or invalid selector selects nothing.
func selects(sel *metav1.LabelSelector, pod labels.Set) bool {
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(pod)
}

// serviceAccount is the ServiceAccount a Deployment's pods run as.
func serviceAccount(d *appsv1.Deployment) string {
	if sa := d.Spec.Template.Spec.ServiceAccountName; sa != "" {
		return sa
	}
	return "default"
}

// LeaderElection is what a workload's args say about leader election.
type LeaderElection struct {
	// Configured is true when any leader-election flag is present.
	Configured bool
	// Enabled is the value of --leader-elect.
	Enabled bool
	// LeaseName and LeaseNamespace locate the Lease (namespace defaults to
	// the workload's).
	LeaseName, LeaseNamespace string
	// LeaseDuration, RenewDeadline and RetryPeriod are zero when not given.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Container is the container whose args configure it.
	Container string
}

// leaderElection reads the controller-runtime / kube-controller-manager
// style flags of a Deployment's containers.
func leaderElection(d *appsv1.Deployment) LeaderElection {
	le := LeaderElection{LeaseNamespace: d.Namespace}
	for _, c := range d.Spec.Template.Spec.Containers {
		args := append(append([]string{}, c.Command...), c.Args...)
		for i, arg := range args {
			name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
			if !strings.HasPrefix(arg, "-") {
				continue
			}
			if !hasValue && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				// "--flag value": read only by the flags that take a value;
				// a bool flag never consumes the next argument.
				value = args[i+1]
			}
			switch name {
			case "leader-elect", "leader-election", "enable-leader-election":
				le.Configured, le.Container = true, c.Name
				// pflag parses bools with strconv.ParseBool (1, t, True...).
				enabled, err := strconv.ParseBool(value)
				le.Enabled = !hasValue || (err == nil && enabled)
			case "leader-election-id", "leader-elect-resource-name":
				le.Configured, le.LeaseName = true, value
			case "leader-election-namespace", "leader-elect-resource-namespace":
				le.Configured = true
				if value != "" {
					le.LeaseNamespace = value
				}
			case "lease-duration", "leader-elect-lease-duration":
				le.LeaseDuration, _ = time.ParseDuration(value)
			case "renew-deadline", "leader-elect-renew-deadline":
				le.RenewDeadline, _ = time.ParseDuration(value)
			case "retry-period", "leader-elect-retry-period":
				le.RetryPeriod, _ = time.ParseDuration(value)
			}
		}
	}
	return le
}
