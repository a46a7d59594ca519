// Package leader is everything Primus knows about leadership: who this
// replica is (Identity), the leader-election Lease (EnsureLease creates it
// with Helm's ownership metadata when the chart does not), a resource lock
// that logs and measures every leadership change (Lock), a read-only view of
// the current holder for the API (Reader), and the pod-deletion-cost
// annotation the leader puts on its own Pod (DeletionCost).
//
// It does not run the election: controller-runtime's manager does, with the
// Lock from this package. Every call here uses Get, Create or Update on the
// one named Lease, never list or watch, because that is all the chart's Role
// grants.
package leader
