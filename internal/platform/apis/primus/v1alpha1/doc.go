// Package v1alpha1 holds the Go types of the primus.dev/v1alpha1 API group:
// the cluster-scoped Project, its validation, and the naming rules shared by
// the API server and the controller (namespace and RoleBinding names, labels).
//
// The CustomResourceDefinition itself lives in charts/primus/crds; these types
// mirror its schema. This package talks to no cluster.
package v1alpha1
