// Package mgmtapi is the management API server: a Kubernetes-style API
// server, built on k8s.io/apiserver's generic API server, that serves
// management.primus.dev/v1alpha1 projects on every replica (leader or not).
//
// It stores nothing. Its projects are a view over the primus.dev Project
// CRD, read and written through the host cluster's API with the replica's
// own identity: the state stays in the cluster, so every replica serves the
// same answers and none of them needs etcd. What the view adds, and a CRD
// cannot: a list (and a watch) shows a caller only the Projects they are a
// member of, unless they may list primus.dev projects cluster-wide, and
// every Project carries the caller's role in it.
//
// Authentication and authorization are delegated to the cluster by the
// library (TokenReview for bearer tokens, the aggregator's front-proxy
// headers when the cluster publishes them, SubjectAccessReview), with the
// library's caches. It is the platform's only API, served on
// --api-bind-address by every replica; it is not for the controllers,
// which stay leader-only (internal/platform/controller).
package mgmtapi
