package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is the management API group.
const GroupName = "management.primus.dev"

// Resource is the plural resource name of Project.
const Resource = "projects"

var (
	// SchemeGroupVersion is the group and version of this package's types.
	SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1alpha1"}

	// InternalGroupVersion is the group's internal version: the same Go
	// types, so that the generic API server converts by setting the kind.
	InternalGroupVersion = schema.GroupVersion{Group: GroupName, Version: runtime.APIVersionInternal}
)

// MembersSubresource is the subresource of a Project that holds its
// members (ProjectMembers).
const MembersSubresource = "members"

// AddToScheme registers Project, ProjectList and ProjectMembers under
// v1alpha1 and the
// internal version, and the meta/v1 options types (ListOptions,
// DeleteOptions, WatchEvent) under v1alpha1, and makes v1alpha1 the
// preferred version.
func AddToScheme(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion, &Project{}, &ProjectList{}, &ProjectMembers{})
	scheme.AddKnownTypes(InternalGroupVersion, &Project{}, &ProjectList{}, &ProjectMembers{})
	metav1.AddToGroupVersion(scheme, SchemeGroupVersion)
	return scheme.SetVersionPriority(SchemeGroupVersion)
}
