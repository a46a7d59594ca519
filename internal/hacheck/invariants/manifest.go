package invariants

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/primus-dev/primus/internal/hacheck/render"
)

// Manifest is a rendered release decoded into the typed objects the rules
// read. Objects without a namespace are placed in the release namespace
// (Expectation.Namespace), else DefaultNamespace.
type Manifest struct {
	Deployments         []*appsv1.Deployment
	StatefulSets        []*appsv1.StatefulSet
	DaemonSets          []*appsv1.DaemonSet
	Leases              []*coordinationv1.Lease
	Roles               []*rbacv1.Role
	RoleBindings        []*rbacv1.RoleBinding
	ClusterRoles        []*rbacv1.ClusterRole
	ClusterRoleBindings []*rbacv1.ClusterRoleBinding
	PDBs                []*policyv1.PodDisruptionBudget
	Services            []*corev1.Service
	HPAs                []*autoscalingv2.HorizontalPodAutoscaler
	ConfigMaps          []*corev1.ConfigMap

	// Workloads are the Deployments, StatefulSets and DaemonSets, in
	// manifest order, with their replica counts and leader election read.
	Workloads []*Workload
	// Ignored names the objects that run pods the rules do not judge, with
	// why: Jobs and CronJobs run to completion; bare ReplicaSets,
	// ReplicationControllers and Pods are not modelled.
	Ignored []string

	// meta holds every decoded object's metadata and template path, by ref.
	meta map[string]objectMeta
	// namespace is where objects rendered without one are placed.
	namespace string
}

type objectMeta struct {
	annotations map[string]string
	source      string
}

// DefaultNamespace is assumed for namespaced objects rendered without one
// when the release namespace is not known.
const DefaultNamespace = "default"

// NewManifest decodes the kinds the rules know, with the built-in dialects
// and controller table; other kinds are ignored.
func NewManifest(objs []render.Object) (*Manifest, error) { return newManifest(objs, Expectation{}) }

// NewManifestIn is NewManifest for a manifest rendered for release
// namespace namespace: objects without a namespace are placed there, where
// Helm creates them. Empty is DefaultNamespace.
func NewManifestIn(objs []render.Object, namespace string) (*Manifest, error) {
	return newManifest(objs, Expectation{Namespace: namespace})
}

func newManifest(objs []render.Object, exp Expectation) (*Manifest, error) {
	m := &Manifest{meta: map[string]objectMeta{}, namespace: exp.Namespace}
	if m.namespace == "" {
		m.namespace = DefaultNamespace
	}
	for _, o := range objs {
		var target any
		kind := o.GetKind()
		switch kind {
		case "Deployment":
			d := &appsv1.Deployment{}
			m.Deployments, target = append(m.Deployments, d), d
		case "StatefulSet":
			s := &appsv1.StatefulSet{}
			m.StatefulSets, target = append(m.StatefulSets, s), s
		case "DaemonSet":
			s := &appsv1.DaemonSet{}
			m.DaemonSets, target = append(m.DaemonSets, s), s
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
		case "ConfigMap":
			c := &corev1.ConfigMap{}
			m.ConfigMaps, target = append(m.ConfigMaps, c), c
		case "HorizontalPodAutoscaler":
			h, err := decodeHPA(o)
			if err != nil {
				return nil, err
			}
			m.HPAs = append(m.HPAs, h)
			m.record(kind, h, o)
			continue
		default:
			if why, ok := ignoredKinds[kind]; ok {
				if isTestHook(o) {
					why = "a Helm test hook (helm.sh/hook: test) runs only under helm test; no HA rule applies"
				}
				m.Ignored = append(m.Ignored, fmt.Sprintf("%s: %s", o.Ref(), why))
			}
			continue
		}
		if err := decode(o, target); err != nil {
			return nil, err
		}
		m.record(kind, target.(metav1.Object), o)
	}
	m.buildWorkloads(exp)
	return m, nil
}

// ignoredKinds are the kinds that run pods the rules do not judge, with why.
var ignoredKinds = map[string]string{
	"Job":     "a Job runs to completion; no HA rule applies",
	"CronJob": "a CronJob runs to completion; no HA rule applies",
	"ReplicaSet": "a ReplicaSet outside a Deployment is not modelled (no rolling update, no Lease reading); " +
		"no rule judges its pods",
	"ReplicationController": "a ReplicationController is not modelled; no rule judges its pods",
	"Pod":                   "a bare Pod is not modelled (nothing recreates it); no rule judges it",
}

// isTestHook reports whether the object is a helm test hook, which
// `helm template` renders and `helm install` does not create.
func isTestHook(o render.Object) bool {
	for _, h := range strings.Split(o.GetAnnotations()["helm.sh/hook"], ",") {
		if strings.TrimSpace(h) == "test" || strings.TrimSpace(h) == "test-success" {
			return true
		}
	}
	return false
}

// record defaults a namespaced object's namespace and keeps its metadata
// and template path.
func (m *Manifest) record(kind string, meta metav1.Object, o render.Object) {
	if meta.GetNamespace() == "" && kind != "ClusterRole" && kind != "ClusterRoleBinding" {
		meta.SetNamespace(m.namespace)
	}
	m.meta[ref(kind, meta)] = objectMeta{annotations: meta.GetAnnotations(), source: o.Source}
}

// decode converts an object into its typed struct. A value of the wrong
// type (--set replicaCount=two renders replicas: two) is the user's input,
// not a broken invariant: an InputError naming the object and the field.
func decode(o render.Object, target any) error {
	err := o.Into(target)
	if err == nil {
		return nil
	}
	raw, merr := json.Marshal(o.Object)
	if merr == nil {
		var typeErr *json.UnmarshalTypeError
		if uerr := json.Unmarshal(raw, target); errors.As(uerr, &typeErr) {
			return &render.InputError{Err: fmt.Errorf("%s: %s: a %s where the API wants %s (check the values that render it)", o.Ref(), typeErr.Field, typeErr.Value, typeErr.Type)}
		}
	}
	return &render.InputError{Err: err}
}

// ref names an object for a finding.
func ref(kind string, obj metav1.Object) string {
	if obj.GetNamespace() == "" {
		return kind + "/" + obj.GetName()
	}
	return fmt.Sprintf("%s/%s/%s", kind, obj.GetNamespace(), obj.GetName())
}

// configMapData is every rendered ConfigMap's data by namespace/name.
func (m *Manifest) configMapData() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, c := range m.ConfigMaps {
		out[c.Namespace+"/"+c.Name] = c.Data
	}
	return out
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
func serviceAccount(d *appsv1.Deployment) string { return podServiceAccount(d.Spec.Template.Spec) }

func podServiceAccount(spec corev1.PodSpec) string {
	if sa := spec.ServiceAccountName; sa != "" {
		return sa
	}
	if sa := spec.DeprecatedServiceAccount; sa != "" {
		return sa
	}
	return "default"
}
