// Package v1alpha1 holds the Go types of the management.primus.dev/v1alpha1
// API group that the management API server (internal/platform/mgmtapi)
// serves: a caller's view of the primus.dev Projects, with the caller's role
// in each.
//
// The types are stored nowhere: the server reads and writes primus.dev
// Projects and converts them. There is no separate internal version; the
// scheme registers these types as the group's internal version too, so the
// generic API server's conversions are the identity. This package talks to
// no cluster.
package v1alpha1
