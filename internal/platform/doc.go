// Package platform wires the Primus binary together: it builds a
// controller-runtime manager with Lease-based leader election and adds to it
// the API server (every replica), the Project controller (leader only) and
// the leader's pod-deletion-cost marker, with health checks and metrics.
//
// It is the orchestration layer between cmd/primus, which only parses flags,
// and the focused packages api, controller and leader. It holds no logic of
// its own beyond the order things start in.
package platform
