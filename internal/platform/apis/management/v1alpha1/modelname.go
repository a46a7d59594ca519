package v1alpha1

// The OpenAPI model names, in the reverse-domain form Kubernetes uses
// (io.k8s.api.core.v1.Pod); the management API's OpenAPI definitions are
// keyed by them.

// OpenAPIModelName returns the OpenAPI model name of Member.
func (Member) OpenAPIModelName() string { return "dev.primus.management.v1alpha1.Member" }

// OpenAPIModelName returns the OpenAPI model name of ProjectSpec.
func (ProjectSpec) OpenAPIModelName() string { return "dev.primus.management.v1alpha1.ProjectSpec" }

// OpenAPIModelName returns the OpenAPI model name of ProjectStatus.
func (ProjectStatus) OpenAPIModelName() string {
	return "dev.primus.management.v1alpha1.ProjectStatus"
}

// OpenAPIModelName returns the OpenAPI model name of Project.
func (Project) OpenAPIModelName() string { return "dev.primus.management.v1alpha1.Project" }

// OpenAPIModelName returns the OpenAPI model name of ProjectList.
func (ProjectList) OpenAPIModelName() string { return "dev.primus.management.v1alpha1.ProjectList" }

// OpenAPIModelName returns the OpenAPI model name of ProjectMembers.
func (ProjectMembers) OpenAPIModelName() string {
	return "dev.primus.management.v1alpha1.ProjectMembers"
}
