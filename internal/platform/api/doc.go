// Package api is the Primus HTTPS API that every replica serves, leader or
// not: CRUD on Projects under /api/v1/projects and the current leader under
// /api/v1/leader, as JSON.
//
// It is stateless. Projects live in the cluster as primus.dev/v1alpha1
// objects, read and written with an uncached client so that every replica
// answers with what the API server has now. Callers authenticate with a
// bearer token that the API server checks (TokenReview) and are authorised
// by Kubernetes RBAC on the projects resource (SubjectAccessReview), so
// `kubectl create clusterrolebinding` is how access is granted; package
// apiauth asks those questions and caches the answers.
//
// It does not reconcile anything: package controller does, on the leader.
package api
