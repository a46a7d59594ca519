package verify

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/primus-dev/primus/internal/hacheck/invariants"
)

// fakeReplica answers as one replica process would.
type fakeReplica struct {
	gauge float64
	err   error
}

func (f fakeReplica) ServesAPI(context.Context, string) error      { return f.err }
func (f fakeReplica) LeaderGauge(context.Context) (float64, error) { return f.gauge, f.err }

type fakeReplicas map[string]fakeReplica

func (f fakeReplicas) For(_ context.Context, pod string) (ReplicaClient, error) {
	r, ok := f[pod]
	if !ok {
		return nil, errors.New("unreachable")
	}
	return r, nil
}
func (f fakeReplicas) Token(context.Context) (string, error) { return "t", nil }

// leaseClient serves the Lease; renewing makes every read a fresh renewal.
func leaseClient(holder string, renewing bool) *fake.Clientset {
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "primus-leader", Namespace: "ns"},
		Spec: coordinationv1.LeaseSpec{LeaseDurationSeconds: ptr.To[int32](1), LeaseTransitions: ptr.To[int32](2),
			RenewTime: &metav1.MicroTime{Time: time.Now().Add(-time.Hour)}},
	}
	if holder != "" {
		lease.Spec.HolderIdentity = ptr.To(holder)
	}
	c := fake.NewClientset(lease)
	if renewing {
		c.PrependReactor("get", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
			l := lease.DeepCopy()
			l.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
			return true, l, nil
		})
	}
	return c
}

func primusDeployment() *appsv1.Deployment {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "primus", Namespace: "ns"}}
	d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "primus", Args: []string{"--leader-elect=true", "--api-bind-address=:8443", "--metrics-bind-address=:8080"}}}
	return d
}

func TestLeadershipChecks(t *testing.T) {
	ready := func(name string) Pod { return Pod{Name: name, Phase: "Running", Ready: true} }
	three := []Pod{ready("p-a"), ready("p-b"), ready("p-c")}
	healthy := fakeReplicas{"p-a": {gauge: 1}, "p-b": {}, "p-c": {}}
	tests := []struct {
		name     string
		holder   string
		renewing bool
		pods     []Pod
		replicas Replicas
		wantFail []string
		wantMsg  string
	}{
		{name: "one renewing holder, a Ready pod, all replicas agree", holder: "p-a_x1", renewing: true, pods: three, replicas: healthy},
		{name: "no holder", pods: three, replicas: fakeReplicas{"p-a": {}, "p-b": {}, "p-c": {}},
			wantFail: []string{CheckLeader, CheckLeaseRenewed, CheckNonLeaders, CheckLeadingMetric}, wantMsg: "has no holder"},
		{name: "stale holder", holder: "p-a_x1", pods: three, replicas: healthy,
			wantFail: []string{CheckLeaseRenewed}, wantMsg: "did not renew within the 1s lease duration"},
		{name: "holder not a pod of the release", holder: "other-pod", renewing: true, pods: three,
			replicas: fakeReplicas{"p-a": {}, "p-b": {}, "p-c": {}},
			wantFail: []string{CheckLeader, CheckNonLeaders, CheckLeadingMetric}, wantMsg: "is not a Pod of this release"},
		{name: "holder pod not ready", holder: "p-a_x1", renewing: true, pods: []Pod{{Name: "p-a", Phase: "Running"}, ready("p-b"), ready("p-c")}, replicas: healthy,
			wantFail: []string{CheckLeader}, wantMsg: "Running but not Ready"},
		{name: "a non-leader not ready", holder: "p-a_x1", renewing: true, pods: []Pod{ready("p-a"), {Name: "p-b", Phase: "Running"}, ready("p-c")}, replicas: healthy,
			wantFail: []string{CheckNonLeaders}, wantMsg: "p-b is Running but not Ready"},
		{name: "two replicas report leading", holder: "p-a_x1", renewing: true, pods: three,
			replicas: fakeReplicas{"p-a": {gauge: 1}, "p-b": {gauge: 1}, "p-c": {}},
			wantFail: []string{CheckLeadingMetric}, wantMsg: "primus_leader=1 on p-a, p-b"},
		{name: "a replica's API does not answer", holder: "p-a_x1", renewing: true, pods: three,
			replicas: fakeReplicas{"p-a": {gauge: 1}, "p-b": {}, "p-c": {err: errors.New("401 Unauthorized")}},
			wantFail: []string{CheckReplicasAPI, CheckLeadingMetric}, wantMsg: "p-c: 401 Unauthorized"},
		{name: "no way to reach the replicas", holder: "p-a_x1", renewing: true, pods: three,
			wantFail: []string{CheckReplicasAPI, CheckLeadingMetric}, wantMsg: "no way to reach"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := &Report{Replicas: 3, Pods: tc.pods}
			le := invariants.LeaderElection{Enabled: true, LeaseName: "primus-leader", LeaseNamespace: "ns"}
			checks := checkLeadership(t.Context(), leaseClient(tc.holder, tc.renewing), rep, le, primusDeployment(),
				Options{Leadership: true, Replicas: tc.replicas, Poll: 10 * time.Millisecond})
			var ids, failed []string
			var msgs string
			for _, c := range checks {
				ids = append(ids, c.ID)
				if !c.Passed {
					failed = append(failed, c.ID)
					msgs += c.Message + "\n"
				}
			}
			assert.Equal(t, LeadershipChecks, ids, "every check, in order")
			assert.Equal(t, tc.wantFail, failed, msgs)
			if tc.wantMsg != "" {
				assert.Contains(t, msgs, tc.wantMsg)
			}
			if tc.wantFail == nil {
				require.NotNil(t, rep.Leader)
				assert.Equal(t, "p-a", rep.Leader.Pod)
				assert.Equal(t, int32(2), rep.Leader.Transitions)
				assert.Regexp(t, `^p-a \(renewed .* ago, 2 transitions\), identity p-a_x1$`, checks[0].Message)
			}
		})
	}
}

func TestLeadershipChecksOfOtherWorkloads(t *testing.T) {
	d := primusDeployment()
	d.Spec.Template.Spec.Containers[0].Args = []string{"--leader-elect=true"}
	rep := &Report{Replicas: 1, Pods: []Pod{{Name: "p-a", Phase: "Running", Ready: true}}}
	le := invariants.LeaderElection{Enabled: true, LeaseName: "primus-leader", LeaseNamespace: "ns"}
	checks := checkLeadership(t.Context(), leaseClient("p-a", true), rep, le, d, Options{Leadership: true, Poll: 10 * time.Millisecond})
	var ids []string
	for _, c := range checks {
		ids = append(ids, c.ID)
		assert.True(t, c.Passed, c.Message)
	}
	assert.Equal(t, []string{CheckLeader, CheckLeaseRenewed, CheckNonLeaders}, ids, "the Lease tells who leads; only primus replicas can be asked")
}

func TestServesAPI(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"--api-bind-address=:8443"}, true},
		{[]string{"--api-bind-address=0"}, false},
		{[]string{"--api-bind-address", "0"}, false},
		{[]string{"--api-bind-address=:8443", "--api-bind-address=0"}, false},
		{[]string{"--api-bind-address=0", "--management-api-bind-address=:8444"}, true},
		{[]string{"--api-bind-address=:8443", "--management-api-bind-address", "0"}, false},
		{nil, true},
	} {
		d := primusDeployment()
		d.Spec.Template.Spec.Containers[0].Args = tc.args
		assert.Equal(t, tc.want, servesAPI(d), "%v", tc.args)
	}
}

func TestLeadershipChecksWithTheAPIOff(t *testing.T) {
	d := primusDeployment()
	d.Spec.Template.Spec.Containers[0].Args = []string{"--leader-elect=true", "--api-bind-address=0", "--metrics-bind-address=:8080"}
	rep := &Report{Replicas: 2, Pods: []Pod{{Name: "p-a", Phase: "Running", Ready: true}, {Name: "p-b", Phase: "Running", Ready: true}}}
	le := invariants.LeaderElection{Enabled: true, LeaseName: "primus-leader", LeaseNamespace: "ns"}
	// The API answers nothing: were it asked, replicas-api would fail.
	down := errors.New("connection refused")
	replicas := fakeReplicas{"p-a": {gauge: 1}, "p-b": {}}
	checks := checkLeadership(t.Context(), leaseClient("p-a_x1", true), rep, le, d,
		Options{Leadership: true, Replicas: apiDown{replicas, down}, Poll: 10 * time.Millisecond})
	var ids []string
	for _, c := range checks {
		ids = append(ids, c.ID)
		assert.True(t, c.Passed, c.Message)
	}
	assert.Equal(t, []string{CheckLeader, CheckLeaseRenewed, CheckNonLeaders, CheckLeadingMetric}, ids, "no API to ask with --api-bind-address=0")
}

// apiDown is fakeReplicas whose API answers err, while their metrics answer.
type apiDown struct {
	fakeReplicas
	err error
}

func (a apiDown) For(ctx context.Context, pod string) (ReplicaClient, error) {
	r, err := a.fakeReplicas.For(ctx, pod)
	if err != nil {
		return nil, err
	}
	return apiDownReplica{r.(fakeReplica), a.err}, nil
}

type apiDownReplica struct {
	fakeReplica
	err error
}

func (a apiDownReplica) ServesAPI(context.Context, string) error { return a.err }

func TestRestartsCheck(t *testing.T) {
	now := time.Now()
	recent, old := now.Add(-time.Minute), now.Add(-time.Hour)
	tests := []struct {
		name string
		pods []Pod
		want bool
	}{
		{name: "none", pods: []Pod{{Name: "a"}}, want: true},
		{name: "old restarts", pods: []Pod{{Name: "a", Restarts: 2, LastRestart: &old}}, want: true},
		{name: "a recent crash", pods: []Pod{{Name: "a"}, {Name: "b", Restarts: 1, LastRestart: &recent}}, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := checkRestarts(&Report{Pods: tc.pods}, now)
			assert.Equal(t, tc.want, c.Passed, c.Message)
		})
	}
}

// TestDurationRoundTrips decodes what a report encodes: a verify report
// in JSON (hacheck verify -o json) reads back into a Report.
func TestDurationRoundTrips(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		json string
	}{
		{name: "milliseconds", d: 200 * time.Millisecond, json: `"200ms"`},
		{name: "seconds, rounded to the millisecond", d: 2056*time.Millisecond + 400*time.Microsecond, json: `"2.056s"`},
		{name: "zero", d: 0, json: `"0s"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(Leader{RenewedAgo: Duration(tc.d)})
			require.NoError(t, err)
			var got map[string]any
			require.NoError(t, json.Unmarshal(b, &got))
			assert.Equal(t, tc.json, `"`+got["renewedAgo"].(string)+`"`)
			var back Leader
			require.NoError(t, json.Unmarshal(b, &back))
			assert.Equal(t, Duration(tc.d.Round(time.Millisecond)), back.RenewedAgo)
		})
	}
	var l Leader
	assert.Error(t, json.Unmarshal([]byte(`{"renewedAgo":"soon"}`), &l))
}
