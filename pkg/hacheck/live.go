package hacheck

import (
	"context"
	"fmt"

	"k8s.io/client-go/kubernetes"

	"github.com/primus-dev/primus/internal/hacheck/render"
	"github.com/primus-dev/primus/internal/hacheck/verify"
)

// VerifyRelease checks an installed release on a live cluster against the
// live rules (see Rules): replicas Ready, spread over nodes and zones, the
// PodDisruptionBudget's allowed disruptions, container restarts, one image
// digest across the Ready replicas, the Lease, and the Lease RBAC as
// the API server's authorizer decides it (SubjectAccessReview).
//
// manifest is the release's rendered manifest (`helm get manifest`, or what
// was installed); it says which workload to look at. Pass WithNamespace with
// the release namespace when the chart renders objects without one. VerifyRelease reads the
// cluster and changes nothing. An error means the check could not run (no
// workload in the manifest, the API server unreachable); broken invariants
// are findings.
func VerifyRelease(ctx context.Context, client kubernetes.Interface, manifest string, opts ...Option) ([]Finding, error) {
	objs, err := render.Decode(manifest)
	if err != nil {
		return nil, fmt.Errorf("decode manifest: %w", err)
	}
	c := newConfig(opts)
	rep, err := verify.Run(ctx, client, objs, verify.Options{Namespace: c.namespace})
	if err != nil {
		return nil, fmt.Errorf("verify release: %w", err)
	}
	return c.filter(fromReport(rep)), nil
}
