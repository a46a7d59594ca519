package render

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/primus-dev/primus/internal/hacheck/render"
)

func TestLeaseAndRBAC(t *testing.T) {
	cases := []struct {
		name          string
		set           []string
		wantLease     string
		wantNamespace string
	}{
		{name: "defaults", wantLease: "primus-leader", wantNamespace: "primus-system"},
		{name: "custom name", set: []string{"leaderElection.leaseName=my-lock"}, wantLease: "my-lock", wantNamespace: "primus-system"},
		{name: "other namespace", set: []string{"leaderElection.namespace=locks"}, wantLease: "primus-leader", wantNamespace: "locks"},
		{name: "fullnameOverride", set: []string{"fullnameOverride=platform"}, wantLease: "platform-leader", wantNamespace: "primus-system"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := renderChart(t, append([]string{"replicaCount=3"}, tc.set...)...)
			d := deployment(t, res)
			assert.Equal(t, tc.wantLease, argValue(t, d, "leader-election-id"))
			assert.Equal(t, tc.wantNamespace, argValue(t, d, "leader-election-namespace"))
			assert.Equal(t, "15s", argValue(t, d, "lease-duration"))
			assert.Equal(t, "10s", argValue(t, d, "renew-deadline"))
			assert.Equal(t, "2s", argValue(t, d, "retry-period"))

			lease := only(t, res, "Lease", &coordinationv1.Lease{})
			assert.Equal(t, tc.wantLease, lease.Name)
			assert.Equal(t, tc.wantNamespace, lease.Namespace)
			assert.Nil(t, lease.Spec.HolderIdentity, "helm upgrade must never overwrite the elected holder")
			assert.Nil(t, lease.Spec.LeaseTransitions)
			assert.Equal(t, "keep", lease.Annotations["helm.sh/resource-policy"], "no upgrade or uninstall deletes a held Lease")

			role := leaderElectionRole(t, res)
			assert.Equal(t, tc.wantNamespace, role.Namespace)
			require.Len(t, role.Rules, 4)
			assert.Equal(t, rbacv1.PolicyRule{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create"}}, role.Rules[0])
			assert.Equal(t, rbacv1.PolicyRule{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{tc.wantLease}, Verbs: []string{"get", "update", "patch"}}, role.Rules[1])
			assert.Equal(t, rbacv1.PolicyRule{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{tc.wantLease}, Verbs: []string{"list", "watch"}}, role.Rules[3],
				"standbys watch the one Lease")

			binding := leaderElectionRoleBinding(t, res)
			assert.Equal(t, tc.wantNamespace, binding.Namespace)
			assert.Equal(t, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name}, binding.RoleRef)
			sa := only(t, res, "ServiceAccount", &corev1.ServiceAccount{})
			assert.Equal(t, []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa.Name, Namespace: "primus-system"}}, binding.Subjects)
			assert.Equal(t, sa.Name, d.Spec.Template.Spec.ServiceAccountName)

			for _, o := range render.Find(res.Objects, "ClusterRole") {
				cr := &rbacv1.ClusterRole{}
				require.NoError(t, o.Into(cr))
				for _, r := range cr.Rules {
					assert.NotContains(t, r.Resources, "leases", "nothing cluster-wide for leader election")
				}
			}
		})
	}
	t.Run("lease left out for GitOps", func(t *testing.T) {
		res := renderChart(t, "replicaCount=3", "leaderElection.createLease=false")
		assert.Empty(t, render.Find(res.Objects, "Lease"))
		role := leaderElectionRole(t, res)
		assert.Equal(t, []string{"create"}, role.Rules[0].Verbs, "the binary creates the Lease itself")
	})
	t.Run("lease watch off: no list or watch, the binary polls", func(t *testing.T) {
		on := renderChart(t, "replicaCount=3")
		off := renderChart(t, "replicaCount=3", "leaderElection.watch=false")
		assert.Equal(t, "true", argValue(t, deployment(t, on), "lease-watch"))
		assert.Equal(t, "false", argValue(t, deployment(t, off), "lease-watch"))
		rules := leaderElectionRole(t, off).Rules
		require.Len(t, rules, 3)
		for _, r := range rules {
			assert.NotContains(t, r.Verbs, "watch")
		}
	})
	t.Run("controller workers", func(t *testing.T) {
		assert.Equal(t, "4", argValue(t, deployment(t, renderChart(t, "replicaCount=3")), "controller-workers"))
		assert.Equal(t, "16", argValue(t, deployment(t, renderChart(t, "replicaCount=3", "controller.workers=16")), "controller-workers"))
	})
	t.Run("pod deletion cost RBAC only when enabled", func(t *testing.T) {
		on := renderChart(t, "replicaCount=3")
		off := renderChart(t, "replicaCount=3", "leaderElection.podDeletionCost=false")
		assert.Len(t, render.Find(on.Objects, "Role"), 2)
		assert.Len(t, render.Find(off.Objects, "Role"), 1)
		assert.Equal(t, "false", argValue(t, deployment(t, off), "pod-deletion-cost"))
	})
}

func leaderElectionRole(t *testing.T, res *render.Result) *rbacv1.Role {
	t.Helper()
	for _, o := range render.Find(res.Objects, "Role") {
		if strings.HasSuffix(o.GetName(), "-leader-election") {
			r := &rbacv1.Role{}
			require.NoError(t, o.Into(r))
			return r
		}
	}
	t.Fatal("no leader-election Role rendered")
	return nil
}

func leaderElectionRoleBinding(t *testing.T, res *render.Result) *rbacv1.RoleBinding {
	t.Helper()
	for _, o := range render.Find(res.Objects, "RoleBinding") {
		if strings.HasSuffix(o.GetName(), "-leader-election") {
			r := &rbacv1.RoleBinding{}
			require.NoError(t, o.Into(r))
			return r
		}
	}
	t.Fatal("no leader-election RoleBinding rendered")
	return nil
}
