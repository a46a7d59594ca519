// Package controller reconciles Projects: for each one it keeps a
// namespace project-<name>, one RoleBinding per member to the built-in
// admin, edit or view ClusterRole, and a ResourceQuota from spec.quota, and
// reports what it did in the Project's status. A finalizer deletes the
// namespace (and with it everything in it) when the Project is deleted.
//
// Reconciliation is level-based and idempotent: a replica that becomes
// leader half-way through someone else's work reads what exists and
// converges. The controller runs on the leader only; the API server in
// package api is what every replica serves.
package controller
