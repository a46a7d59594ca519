package install

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/primus-dev/primus/internal/hacheck/action"
	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/hacheck/image"
	"github.com/primus-dev/primus/internal/hacheck/podrunner"
	"github.com/primus-dev/primus/internal/hacheck/replica"
	"github.com/primus-dev/primus/internal/hacheck/verify"
	"github.com/primus-dev/primus/internal/testharness/clustertest"
)

// doctorValues: three replicas with the fastest lease timings, so a stale
// holder shows within seconds.
var doctorValues = map[string]string{
	"replicaCount": "3", "leaderElection.leaseDuration": "4s", "leaderElection.renewDeadline": "3s", "leaderElection.retryPeriod": "1s",
}

// TestDoctor installs a release with helm, and examines it with doctor
// mode (hacheck verify --release): read-only, it passes while one replica
// leads and renews, and fails once the Lease names a stale holder that is
// no Pod of the release. On the embedded cluster a podrunner runs the
// real binary for the Pods; on $PRIMUS_TEST_KUBECONFIG's cluster the
// kubelets do, and doctor reaches the replicas through port-forwards.
func TestDoctor(t *testing.T) {
	clustertest.Require(t, testCluster)
	r := newRelease(t, nil)
	r.install(doctorValues)

	var replicas verify.Replicas // nil: port-forwards, on a real cluster
	wantDigest := ""             // on a real cluster, whatever the kubelets pulled
	if testCluster.Embedded() {
		bin, err := replica.Build(t.Context(), t.TempDir(), nil)
		require.NoError(t, err)
		d, err := image.BinaryDigest(bin)
		require.NoError(t, err)
		wantDigest = d.String()
		runner, err := podrunner.Start(t.Context(), podrunner.Options{
			Kube: r.client, Namespace: r.namespace, Selector: "app.kubernetes.io/instance=" + r.name, Lease: r.name + "-leader",
			Starter:      &podrunner.ReplicaStarter{Binary: bin, Kube: r.client, Config: testCluster.RESTConfig(), Dir: t.TempDir()},
			SetPodStatus: testCluster.Readiness() == cluster.ReadyByRunner,
			Log:          slog.New(slog.DiscardHandler),
		})
		require.NoError(t, err)
		t.Cleanup(func() { _ = runner.Close(context.Background()) })
		replicas = action.RunnerReplicas(runner, r.client, r.namespace, r.name)
	}
	r.waitRollout(3)
	doctor := func() *action.DoctorResult {
		t.Helper()
		res, err := action.Doctor(t.Context(), action.DoctorOptions{
			Release: r.name, Namespace: r.namespace, Kubeconfig: testCluster.Kubeconfig(), Replicas: replicas,
		})
		require.NoError(t, err)
		return res
	}

	// The podrunner adds each container's imageID to the status kwok
	// wrote; doctor reads it as a kubelet's.
	digests := func(res *action.DoctorResult) []string {
		var out []string
		for _, p := range res.Report.Pods {
			out = append(out, p.Digest)
		}
		return out
	}
	oneDigest := func(res *action.DoctorResult) bool {
		ds := digests(res)
		return len(ds) == 3 && ds[0] != verify.DigestUnknown && (wantDigest == "" || ds[0] == wantDigest) && ds[1] == ds[0] && ds[2] == ds[0]
	}
	var res *action.DoctorResult
	require.Eventually(t, func() bool { res = doctor(); return res.Passed() && oneDigest(res) }, time.Minute, time.Second,
		"doctor never passed on the healthy release with one digest: %+v", func() any {
			if res == nil {
				return nil
			}
			return []any{res.Report.Failed(), res.Report.Pods}
		}())
	assert.Empty(t, res.Findings, "the stored manifest breaks no static rule")
	require.NotNil(t, res.Report.Leader)
	assert.Equal(t, 1, res.Revision)
	assert.Contains(t, res.Cluster, testCluster.Kubeconfig(), "the report says which cluster it read")
	for _, c := range res.Report.Checks {
		if c.ID == verify.CheckImageDigest {
			assert.Contains(t, c.Message, "3/3 Ready replicas run "+digests(res)[0], "the check names the digest")
		}
	}

	// A stale holder: a Lease naming an identity no Pod of the release
	// has, renewed an hour ago, with a claim the replicas will respect.
	lease, err := r.client.CoordinationV1().Leases(r.namespace).Get(t.Context(), r.name+"-leader", metav1.GetOptions{})
	require.NoError(t, err)
	stale := "primus-gone-7d9f8_x1"
	lease.Spec = coordinationv1.LeaseSpec{
		HolderIdentity: &stale, LeaseDurationSeconds: new(int32(3600)), LeaseTransitions: lease.Spec.LeaseTransitions,
		AcquireTime: &metav1.MicroTime{Time: time.Now().Add(-time.Hour)}, RenewTime: &metav1.MicroTime{Time: time.Now().Add(-time.Hour)},
	}
	_, err = r.client.CoordinationV1().Leases(r.namespace).Update(t.Context(), lease, metav1.UpdateOptions{})
	require.NoError(t, err)

	res = doctor()
	assert.False(t, res.Passed())
	failed := map[string]string{}
	for _, c := range res.Report.Failed() {
		failed[c.ID] = c.Message
	}
	assert.Contains(t, failed[verify.CheckLeader], "is not a Pod of this release")
	assert.Contains(t, failed[verify.CheckLeaseRenewed], "did not renew")
}

func TestDoctorOnAMissingReleaseIsBadInput(t *testing.T) {
	clustertest.Require(t, testCluster)
	_, err := action.Doctor(t.Context(), action.DoctorOptions{Release: "no-such-release", Namespace: "default", Kubeconfig: testCluster.Kubeconfig()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not found in Helm's storage")
}
