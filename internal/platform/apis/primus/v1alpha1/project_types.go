package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// MemberKind is the kind of subject a Member binds.
type MemberKind string

// The subject kinds a Member may have; they are rbacv1.Subject kinds.
const (
	MemberUser           MemberKind = "User"
	MemberGroup          MemberKind = "Group"
	MemberServiceAccount MemberKind = "ServiceAccount"
)

// Role is the access a Member gets in the project namespace: the built-in
// ClusterRole of the same name, bound with a RoleBinding.
type Role string

// The roles a Member may have.
const (
	RoleAdmin Role = "admin"
	RoleEdit  Role = "edit"
	RoleView  Role = "view"
)

// Member grants one subject a role in the project namespace.
type Member struct {
	// Kind is User, Group or ServiceAccount.
	Kind MemberKind `json:"kind"`
	// Name is the user, group or ServiceAccount name.
	Name string `json:"name"`
	// Namespace is the ServiceAccount's namespace; only for ServiceAccount.
	Namespace string `json:"namespace,omitempty"`
	// Role is admin, edit or view.
	Role Role `json:"role"`
}

// ProjectSpec is what a Project asks for.
type ProjectSpec struct {
	// DisplayName is a human-readable name.
	DisplayName string `json:"displayName,omitempty"`
	// Members are bound to their role in the project namespace.
	Members []Member `json:"members,omitempty"`
	// Quota is the hard map of the project's ResourceQuota (resource name
	// to quantity); empty means no quota.
	Quota map[string]intstr.IntOrString `json:"quota,omitempty"`
}

// ProjectPhase summarises a Project's state.
type ProjectPhase string

// The phases a Project goes through.
const (
	// PhasePending: the controller has not finished reconciling.
	PhasePending ProjectPhase = "Pending"
	// PhaseReady: namespace, RoleBindings and quota match the spec.
	PhaseReady ProjectPhase = "Ready"
	// PhaseFailed: the spec cannot be realised (invalid, or the namespace
	// belongs to someone else); the Ready condition says why.
	PhaseFailed ProjectPhase = "Failed"
	// PhaseTerminating: the Project is deleted and its namespace is going.
	PhaseTerminating ProjectPhase = "Terminating"
)

// ConditionReady is the condition type that is True when the project's
// objects match its spec.
const ConditionReady = "Ready"

// ProjectStatus is what the controller observed and did.
type ProjectStatus struct {
	// Phase summarises the state.
	Phase ProjectPhase `json:"phase,omitempty"`
	// Namespace is the project namespace.
	Namespace string `json:"namespace,omitempty"`
	// ObservedGeneration is the generation the status describes.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions hold the Ready condition.
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Project is a self-service namespace with member RoleBindings and a quota.
// It is cluster-scoped.
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
