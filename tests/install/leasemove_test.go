package install

import (
	"fmt"
	"testing"

	"github.com/gruntwork-io/terratest/modules/helm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/primus-dev/primus/internal/hacheck/replica"
)

// TestUpgradeRefusesToMoveTheLeaseUnderARollingUpdate upgrades a live
// release to a new Lease name or namespace. Under RollingUpdate the new
// pods would elect on a new, empty Lease while the old leader keeps its
// own, so helm upgrade must fail (the chart's lookup of the live
// Deployment) and leave the release as it was; with Recreate, or with the
// Deployment scaled to 0, the same move is allowed.
func TestUpgradeRefusesToMoveTheLeaseUnderARollingUpdate(t *testing.T) {
	cases := []struct {
		name    string
		set     map[string]string
		scaleTo *int32
		refused bool
	}{
		{name: "new lease name", set: map[string]string{"leaderElection.leaseName": "moved"}, refused: true},
		{name: "new fullnameOverride", set: map[string]string{"fullnameOverride": "renamed"}, refused: true},
		{name: "new lease namespace", set: map[string]string{"leaderElection.namespace": "default"}, refused: true},
		{name: "same lease, other change", set: map[string]string{"logLevel": "debug"}},
		{name: "new lease name with Recreate", set: map[string]string{"leaderElection.leaseName": "moved", "strategy.type": "Recreate", "strategy.rollingUpdate": "null"}},
		{name: "new lease name after scaling to 0", set: map[string]string{"leaderElection.leaseName": "moved"}, scaleTo: new(int32)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRelease(t, nil)
			r.install(map[string]string{"replicaCount": "3"})
			ctx := t.Context()
			if tc.scaleTo != nil {
				patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, *tc.scaleTo)
				_, err := r.client.AppsV1().Deployments(r.namespace).Patch(ctx, r.name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
				require.NoError(t, err)
			}
			err := helm.UpgradeE(t, r.helmOptions(tc.set, "--reuse-values"), chartPath(), r.name)
			rev, _ := r.status()
			d, getErr := r.client.AppsV1().Deployments(r.namespace).Get(ctx, r.name, metav1.GetOptions{})
			if !tc.refused {
				require.NoError(t, err)
				assert.Equal(t, 2, rev)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "leaderElection.leaseName: this upgrade moves the Lease from "+r.namespace+"/primus-leader")
			assert.Contains(t, err.Error(), "strategy.type=Recreate", "the message says how to do it safely")
			assert.Equal(t, 1, rev, "the refused upgrade leaves the release as it was")
			require.NoError(t, getErr)
			id, _ := replica.ArgValue(d.Spec.Template.Spec.Containers[0].Args, "--leader-election-id")
			assert.Equal(t, "primus-leader", id, "the live Deployment still elects on the old Lease")
		})
	}
}
