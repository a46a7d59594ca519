package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Member grants one subject a role in the project namespace, as in
// primus.dev/v1alpha1.
type Member struct {
	// Kind is User, Group or ServiceAccount.
	Kind string `json:"kind"`
	// Name is the user, group or ServiceAccount name.
	Name string `json:"name"`
	// Namespace is the ServiceAccount's namespace; only for ServiceAccount.
	Namespace string `json:"namespace,omitempty"`
	// Role is admin, edit or view.
	Role string `json:"role"`
}

// ProjectSpec is what a Project asks for; it is the primus.dev spec.
type ProjectSpec struct {
	// DisplayName is a human-readable name.
	DisplayName string `json:"displayName,omitempty"`
	// Members are bound to their role in the project namespace.
	Members []Member `json:"members,omitempty"`
	// Quota is the hard map of the project's ResourceQuota.
	Quota map[string]intstr.IntOrString `json:"quota,omitempty"`
}

// ProjectStatus is what the controller observed, and the caller's role.
type ProjectStatus struct {
	// Role is the caller's role in the project (admin, edit or view), the
	// strongest of the members that name the caller, their groups or their
	// ServiceAccount. It is empty for a caller who sees the project only
	// because they may read every Project.
	Role string `json:"role,omitempty"`
	// Phase summarises the state: Pending, Ready, Failed or Terminating.
	Phase string `json:"phase,omitempty"`
	// Namespace is the project namespace.
	Namespace string `json:"namespace,omitempty"`
	// ObservedGeneration is the generation the status describes.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions hold the Ready condition.
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Project is a caller's view of a primus.dev Project. It is cluster-scoped,
// as the Project CRD is.
type Project struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ProjectSpec   `json:"spec,omitempty"`
	Status ProjectStatus `json:"status,omitempty"`
}

// ProjectList is a list of Projects.
type ProjectList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`

	Items []Project `json:"items"`
}

// ProjectMembers is the members subresource of a Project
// (projects/{name}/members): its members alone, so that RBAC can let a
// caller change who is in a project (update or patch on projects/members)
// without letting them change the rest of it. metadata is the Project's.
type ProjectMembers struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Members are bound to their role in the project namespace.
	Members []Member `json:"members"`
}
