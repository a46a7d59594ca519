package install

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gruntwork-io/terratest/modules/k8s"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestSingleReplicaToHAAndBack is the operator's story: install with
// defaults, `helm upgrade --reuse-values --set replicaCount=3`, then back to
// one replica, with bad upgrades refused on the way.
func TestSingleReplicaToHAAndBack(t *testing.T) {
	r := newRelease(t, nil)
	ctx := context.Background()

	t.Run("install with defaults", func(t *testing.T) {
		r.install(nil)
		pods := r.waitRollout(1)
		require.Len(t, pods, 1)

		_, err := r.client.PolicyV1().PodDisruptionBudgets(r.namespace).Get(ctx, r.name, metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "no PDB at one replica, got %v", err)
		lease, err := r.client.CoordinationV1().Leases(r.namespace).Get(ctx, "primus-leader", metav1.GetOptions{})
		require.NoError(t, err, "the Lease exists before any replica elects")
		assert.Equal(t, "Helm", lease.Labels["app.kubernetes.io/managed-by"])
		sa := k8s.GetServiceAccount(t, r.kubectl, r.name)
		role, err := r.client.RbacV1().Roles(r.namespace).Get(ctx, "primus-leader-election", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, []string{"primus-leader"}, role.Rules[1].ResourceNames)
		binding, err := r.client.RbacV1().RoleBindings(r.namespace).Get(ctx, "primus-leader-election", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, sa.Name, binding.Subjects[0].Name)
	})

	t.Run("upgrade to three replicas with --reuse-values", func(t *testing.T) {
		require.NoError(t, r.upgradeReuse(map[string]string{"replicaCount": "3"}))
		pods := r.waitRollout(3)
		assert.Len(t, nodesOf(pods), 3, "3 pods on 3 different nodes: %s", describe(pods))
		for _, p := range pods {
			assert.Equal(t, corev1.PodRunning, p.Status.Phase, "kubectl get po shows %s Running", p.Name)
		}
		pdb := waitPDB(t, r, 1)
		assert.EqualValues(t, 3, pdb.Status.ExpectedPods)
		revision, status := r.status()
		assert.Equal(t, 2, revision)
		assert.Equal(t, "deployed", status)
	})

	t.Run("PDB is honoured by the eviction API", func(t *testing.T) {
		pods := r.pods()
		require.Len(t, pods, 3)
		waitPDB(t, r, 1)
		// Drain the nodes of two replicas at once: cordon every node (so an
		// evicted replica's replacement stays Pending, as it would while a
		// real image starts), then evict. The budget allows one eviction;
		// the API server refuses the second with 429.
		uncordon := cordonAll(t)
		require.NoError(t, evict(ctx, r, pods[0].Name), "the first eviction is within the budget")
		err := evict(ctx, r, pods[1].Name)
		require.Error(t, err, "a second concurrent eviction must be refused")
		assert.True(t, apierrors.IsTooManyRequests(err), "refused by the PDB (429), got %v", err)
		uncordon()
		r.waitRollout(3)
		waitPDB(t, r, 1)
	})

	t.Run("bad values are refused and the release is untouched", func(t *testing.T) {
		for _, bad := range []string{"0", "three"} {
			err := r.upgradeReuse(map[string]string{"replicaCount": bad})
			require.Error(t, err, "replicaCount=%s", bad)
			assert.Contains(t, err.Error(), "replicaCount")
		}
		revision, status := r.status()
		assert.Equal(t, 2, revision, "no new revision was recorded")
		assert.Equal(t, "deployed", status)
		d, err := r.client.AppsV1().Deployments(r.namespace).Get(ctx, r.name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.EqualValues(t, 3, *d.Spec.Replicas)
	})

	t.Run("downgrade to one replica", func(t *testing.T) {
		require.NoError(t, r.upgradeReuse(map[string]string{"replicaCount": "1"}))
		r.waitRollout(1)
		_, err := r.client.PolicyV1().PodDisruptionBudgets(r.namespace).Get(ctx, r.name, metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "PDB removed, got %v", err)
		_, err = r.client.CoordinationV1().Leases(r.namespace).Get(ctx, "primus-leader", metav1.GetOptions{})
		assert.NoError(t, err, "Lease kept")
	})
}

func evict(ctx context.Context, r *release, pod string) error {
	return r.client.PolicyV1().Evictions(r.namespace).Evict(ctx, &policyv1.Eviction{
		ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: r.namespace},
	})
}

// waitPDB waits until the disruption controller reports the PDB allowing
// want disruptions.
func waitPDB(t *testing.T, r *release, want int32) *policyv1.PodDisruptionBudget {
	t.Helper()
	var pdb *policyv1.PodDisruptionBudget
	require.Eventually(t, func() bool {
		var err error
		pdb, err = r.client.PolicyV1().PodDisruptionBudgets(r.namespace).Get(context.Background(), r.name, metav1.GetOptions{})
		return err == nil && pdb.Status.ObservedGeneration == pdb.Generation && pdb.Status.DisruptionsAllowed == want
	}, time.Minute, 250*time.Millisecond, "PDB never allowed %d disruptions: %+v", want, pdbStatus(pdb))
	return pdb
}

func pdbStatus(p *policyv1.PodDisruptionBudget) any {
	if p == nil {
		return nil
	}
	return p.Status
}

// cordonAll marks every node unschedulable, as `kubectl drain` does first,
// and returns the function that undoes it (also run on cleanup).
func cordonAll(t *testing.T) func() {
	t.Helper()
	set := func(unschedulable bool) {
		for _, name := range testCluster.NodeNames() {
			patch := []byte(fmt.Sprintf(`{"spec":{"unschedulable":%t}}`, unschedulable))
			_, err := testCluster.Clientset().CoreV1().Nodes().Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{})
			require.NoError(t, err)
		}
	}
	set(true)
	var once sync.Once
	undo := func() { once.Do(func() { set(false) }) }
	t.Cleanup(undo)
	return undo
}
