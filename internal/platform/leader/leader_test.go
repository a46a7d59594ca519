package leader

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/ptr"
)

func TestEnsureLease(t *testing.T) {
	tests := []struct {
		name            string
		existing        *coordinationv1.Lease
		release         string
		wantCreated     bool
		wantLabels      map[string]string
		wantAnnotations map[string]string
	}{
		{
			name: "created with Helm ownership", release: "primus", wantCreated: true,
			wantLabels: map[string]string{"app.kubernetes.io/managed-by": "Helm"},
			wantAnnotations: map[string]string{
				"meta.helm.sh/release-name": "primus", "meta.helm.sh/release-namespace": "platform",
			},
		},
		{name: "created without a release", wantCreated: true},
		{
			name:     "an existing Lease is left alone",
			existing: &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "primus-leader", Namespace: "platform", Labels: map[string]string{"from": "chart"}}},
			release:  "primus", wantLabels: map[string]string{"from": "chart"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kube := kubefake.NewClientset()
			if tc.existing != nil {
				kube = kubefake.NewClientset(tc.existing)
			}
			opts := LeaseOptions{Namespace: "platform", Name: "primus-leader"}
			if tc.release != "" {
				opts.ReleaseName, opts.ReleaseNamespace = tc.release, "platform"
			}
			created, err := EnsureLease(context.Background(), kube, opts)
			require.NoError(t, err)
			assert.Equal(t, tc.wantCreated, created)
			for _, a := range kube.Actions() {
				assert.Equal(t, "create", a.GetVerb(), "EnsureLease only creates: the chart grants no list or watch")
			}

			lease, err := kube.CoordinationV1().Leases("platform").Get(context.Background(), "primus-leader", metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, tc.wantLabels, lease.Labels)
			assert.Equal(t, tc.wantAnnotations, lease.Annotations)
			assert.Nil(t, lease.Spec.HolderIdentity, "the binary never writes a holder when it creates the Lease")
		})
	}
}

func TestEnsureLeaseReportsOtherErrors(t *testing.T) {
	kube := kubefake.NewClientset()
	kube.PrependReactor("create", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, "primus-leader", errors.New("no RBAC"))
	})
	_, err := EnsureLease(context.Background(), kube, LeaseOptions{Namespace: "platform", Name: "primus-leader"})
	assert.ErrorContains(t, err, "create lease platform/primus-leader")
}

// memLock is an in-memory resource lock.
type memLock struct {
	id  string
	rec *resourcelock.LeaderElectionRecord
	err error // returned by Update when set
}

func (m *memLock) Get(context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	if m.rec == nil {
		return nil, nil, apierrors.NewNotFound(schema.GroupResource{Resource: "leases"}, "l")
	}
	raw, _ := json.Marshal(m.rec)
	r := *m.rec
	return &r, raw, nil
}
func (m *memLock) Create(_ context.Context, r resourcelock.LeaderElectionRecord) error {
	m.rec = &r
	return nil
}
func (m *memLock) Update(_ context.Context, r resourcelock.LeaderElectionRecord) error {
	if m.err != nil {
		return m.err
	}
	m.rec = &r
	return nil
}
func (m *memLock) RecordEvent(string) {}
func (m *memLock) Identity() string   { return m.id }
func (m *memLock) Describe() string   { return "platform/primus-leader" }

func gaugeValue(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, g.Write(&m))
	return m.GetGauge().GetValue()
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, c.Write(&m))
	return m.GetCounter().GetValue()
}

// logLines decodes the JSON lines of buf.
func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal(line, &m))
		out = append(out, m)
	}
	return out
}

func TestLockLogsAndMeasuresTransitions(t *testing.T) {
	ctx := context.Background()
	var buf bytes.Buffer
	metrics, err := NewMetrics(prometheus.NewRegistry())
	require.NoError(t, err)
	inner := &memLock{id: "primus-1", rec: &resourcelock.LeaderElectionRecord{
		HolderIdentity: "primus-0", LeaseDurationSeconds: 4,
		RenewTime: metav1.NewTime(time.Now().Add(-10 * time.Second)),
	}}
	l := newLock(LockOptions{Identity: "primus-1", Log: slog.New(slog.NewJSONHandler(&buf, nil)), Metrics: metrics})
	l.setInner(inner)

	// A candidate reads the Lease: primus-0 holds it.
	_, _, err = l.Get(ctx)
	require.NoError(t, err)
	assert.False(t, l.Leading())
	assert.Equal(t, 0.0, gaugeValue(t, metrics.Leader))

	// primus-0's lease expired: primus-1 takes it.
	require.NoError(t, l.Update(ctx, resourcelock.LeaderElectionRecord{HolderIdentity: "primus-1", LeaseDurationSeconds: 4, LeaderTransitions: 1}))
	assert.True(t, l.Leading())
	assert.Equal(t, 1.0, gaugeValue(t, metrics.Leader))

	// Renewals change nothing.
	require.NoError(t, l.Update(ctx, resourcelock.LeaderElectionRecord{HolderIdentity: "primus-1", LeaseDurationSeconds: 4, LeaderTransitions: 1}))

	// A failed renewal is remembered as the reason of a loss.
	inner.err = errors.New("etcd timeout")
	require.Error(t, l.Update(ctx, resourcelock.LeaderElectionRecord{HolderIdentity: "primus-1"}))
	assert.Contains(t, l.LostReason(), "etcd timeout")
	inner.err = nil

	// Release on graceful stop: empty holder.
	require.NoError(t, l.Update(ctx, resourcelock.LeaderElectionRecord{LeaseDurationSeconds: 1, LeaderTransitions: 1}))
	assert.False(t, l.Leading())
	assert.Equal(t, 0.0, gaugeValue(t, metrics.Leader))
	assert.Equal(t, 2.0, counterValue(t, metrics.Transitions))

	var msgs []string
	for _, line := range logLines(t, &buf) {
		msgs = append(msgs, line["msg"].(string))
		assert.Equal(t, "primus-1", line["identity"], "every line names the identity")
		assert.Equal(t, "platform/primus-leader", line["lease"])
		if line["level"] == "INFO" {
			assert.NotEmpty(t, line["reason"], "every leadership change has a reason: %v", line)
		}
	}
	assert.Equal(t, []string{"leader observed", "leadership acquired", "renewing leader lease failed", "leadership released"}, msgs)
	acquired := logLines(t, &buf)[1]
	assert.Contains(t, acquired["reason"], "lease of primus-0 expired")
	assert.Equal(t, "primus-0", acquired["previous"])
}

func TestReader(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	lease := func(holder string, renewedAgo time.Duration) *coordinationv1.Lease {
		return &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: "primus-leader", Namespace: "platform"},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To(holder),
				LeaseDurationSeconds: ptr.To[int32](15),
				LeaseTransitions:     ptr.To[int32](3),
				RenewTime:            &metav1.MicroTime{Time: now.Add(-renewedAgo)},
			},
		}
	}
	tests := []struct {
		name  string
		lease *coordinationv1.Lease
		rName string
		want  Status
	}{
		{
			name: "another replica leads", lease: lease("primus-0_a", time.Second), rName: "primus-leader",
			want: Status{Lease: "platform/primus-leader", Holder: "primus-0_a", HolderPod: "primus-0", Identity: "primus-1_b", LeaseDurationSeconds: 15, Transitions: 3, LeaderElection: true},
		},
		{
			name: "this replica leads", lease: lease("primus-1_b", time.Second), rName: "primus-leader",
			want: Status{Lease: "platform/primus-leader", Holder: "primus-1_b", HolderPod: "primus-1", Identity: "primus-1_b", IsLeader: true, LeaseDurationSeconds: 15, Transitions: 3, LeaderElection: true},
		},
		{
			name: "an earlier process in this Pod holds it", lease: lease("primus-1_a", time.Second), rName: "primus-leader",
			want: Status{Lease: "platform/primus-leader", Holder: "primus-1_a", HolderPod: "primus-1", Identity: "primus-1_b", LeaseDurationSeconds: 15, Transitions: 3, LeaderElection: true},
		},
		{
			name: "a release before per-process identities holds it", lease: lease("primus-0", time.Second), rName: "primus-leader",
			want: Status{Lease: "platform/primus-leader", Holder: "primus-0", HolderPod: "primus-0", Identity: "primus-1_b", LeaseDurationSeconds: 15, Transitions: 3, LeaderElection: true},
		},
		{
			name: "the holder stopped renewing", lease: lease("primus-0_a", time.Minute), rName: "primus-leader",
			want: Status{Lease: "platform/primus-leader", Holder: "primus-0_a", HolderPod: "primus-0", Identity: "primus-1_b", Expired: true, LeaseDurationSeconds: 15, Transitions: 3, LeaderElection: true},
		},
		{
			name: "no Lease yet", rName: "primus-leader",
			want: Status{Lease: "platform/primus-leader", Identity: "primus-1_b", LeaderElection: true},
		},
		{
			name: "no leader election",
			want: Status{Holder: "primus-1_b", HolderPod: "primus-1", Identity: "primus-1_b", IsLeader: true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kube := kubefake.NewClientset()
			if tc.lease != nil {
				kube = kubefake.NewClientset(tc.lease)
			}
			r := &Reader{Kube: kube, Namespace: "platform", Name: tc.rName, Identity: "primus-1_b", Now: func() time.Time { return now }}
			got, err := r.Leader(context.Background())
			require.NoError(t, err)
			got.AcquireTime, got.RenewTime = nil, nil
			assert.Equal(t, tc.want, got)
			for _, a := range kube.Actions() {
				assert.Equal(t, "get", a.GetVerb(), "the reader only gets the named Lease")
			}
		})
	}
}

func TestDeletionCost(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "primus-0", Namespace: "platform"}}
	kube := kubefake.NewClientset(pod)
	d := &DeletionCost{Kube: kube, Namespace: "platform", Pod: "primus-0"}
	annotations := func() map[string]string {
		p, err := kube.CoreV1().Pods("platform").Get(context.Background(), "primus-0", metav1.GetOptions{})
		require.NoError(t, err)
		return p.Annotations
	}
	assert.True(t, d.NeedLeaderElection())

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Start(ctx) }()
	require.Eventually(t, func() bool { return annotations()[DeletionCostAnnotation] == LeaderDeletionCost }, 5*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	assert.NotContains(t, annotations(), DeletionCostAnnotation, "removed on graceful stop")
}

func TestDeletionCostWithoutPod(t *testing.T) {
	d := &DeletionCost{Kube: kubefake.NewClientset(), Namespace: "platform", Pod: "not-a-pod"}
	assert.NoError(t, d.set(context.Background(), LeaderDeletionCost), "outside Kubernetes there is no Pod to mark")
	assert.NoError(t, d.Clear(context.Background()))
}

func TestIdentity(t *testing.T) {
	t.Setenv("POD_NAME", "primus-7d9f-abcde")
	first, restarted := Identity(), Identity()
	assert.NotEqual(t, first, restarted, "a process restarted in the same Pod is a new identity")
	assert.Equal(t, "primus-7d9f-abcde", HolderPod(first))
	assert.Equal(t, "primus-7d9f-abcde", HolderPod(restarted))
	t.Setenv("POD_NAME", "")
	a, b := Identity(), Identity()
	assert.NotEqual(t, a, b, "processes on one host get distinct identities")
	assert.Contains(t, a, "_")
}
