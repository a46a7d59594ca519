package install

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/primus-dev/primus/internal/hacheck/invariants"
	"github.com/primus-dev/primus/internal/hacheck/verify"
)

// TestLeaderElectionRBAC asks the real API server's authorizer, as the
// chart's ServiceAccount, what it may do.
func TestLeaderElectionRBAC(t *testing.T) {
	r := newRelease(t, nil)
	r.install(map[string]string{"replicaCount": "3"})
	other := newRelease(t, nil) // a second namespace, with a Lease of the same name
	other.install(nil)

	user := verify.ServiceAccountUser(r.namespace, r.name)
	le := invariants.LeaderElection{LeaseName: "primus-leader", LeaseNamespace: r.namespace}
	for _, a := range verify.LeaseAccess(le, other.namespace) {
		t.Run(a.String(), func(t *testing.T) {
			allowed, err := verify.Allowed(context.Background(), r.client, user, a)
			require.NoError(t, err)
			assert.Equal(t, a.Allowed, allowed)
		})
	}
}

// TestRestrictedPodSecurity installs into a namespace that enforces the
// restricted Pod Security Standard: the chart's pods are admitted, and a
// non-compliant override is not (so the test can tell the two apart).
func TestRestrictedPodSecurity(t *testing.T) {
	restricted := map[string]string{
		"pod-security.kubernetes.io/enforce":         "restricted",
		"pod-security.kubernetes.io/enforce-version": "latest",
	}
	t.Run("chart defaults are admitted", func(t *testing.T) {
		r := newRelease(t, restricted)
		r.install(map[string]string{"replicaCount": "3"})
		pods := r.waitRollout(3)
		assert.Len(t, pods, 3)
	})
	t.Run("a privileged override is refused by admission", func(t *testing.T) {
		r := newRelease(t, restricted)
		r.install(map[string]string{"securityContext.allowPrivilegeEscalation": "true"})
		require.Eventually(t, func() bool {
			rs, err := r.client.AppsV1().ReplicaSets(r.namespace).List(context.Background(), metav1.ListOptions{})
			if err != nil || len(rs.Items) == 0 {
				return false
			}
			for _, c := range rs.Items[0].Status.Conditions {
				if c.Type == appsv1.ReplicaSetReplicaFailure && c.Status == "True" {
					t.Logf("admission refused the pod: %s", c.Message)
					return true
				}
			}
			return false
		}, time.Minute, 500*time.Millisecond)
		assert.Empty(t, r.pods())
	})
}
