package leader

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// fencedWrites are the writes other than Create that Fence must fence,
// each on the existing namespace ns.
var fencedWrites = map[string]func(c client.Client, ns *corev1.Namespace) error{
	"update": func(c client.Client, ns *corev1.Namespace) error {
		return c.Update(context.Background(), ns.DeepCopy())
	},
	"patch": func(c client.Client, ns *corev1.Namespace) error {
		return c.Patch(context.Background(), ns.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"labels":{"a":"b"}}}`)))
	},
	"delete": func(c client.Client, ns *corev1.Namespace) error {
		return c.Delete(context.Background(), ns.DeepCopy())
	},
	"delete all of": func(c client.Client, _ *corev1.Namespace) error {
		return c.DeleteAllOf(context.Background(), &corev1.ConfigMap{}, client.InNamespace("x"))
	},
	"status update": func(c client.Client, ns *corev1.Namespace) error {
		return c.Status().Update(context.Background(), ns.DeepCopy())
	},
	"status patch": func(c client.Client, ns *corev1.Namespace) error {
		return c.Status().Patch(context.Background(), ns.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(`{"status":{}}`)))
	},
	"subresource update": func(c client.Client, ns *corev1.Namespace) error {
		return c.SubResource("status").Update(context.Background(), ns.DeepCopy())
	},
}

func TestFenceRefusesWritesOnStaleLease(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		leading   bool
		elapsed   time.Duration
		wantWrite bool
		wantErr   error
		wantStale int
	}{
		{name: "fresh leader writes", leading: true, elapsed: time.Second, wantWrite: true},
		{name: "just inside the renew deadline", leading: true, elapsed: 2999 * time.Millisecond, wantWrite: true},
		{name: "paused past the renew deadline", leading: true, elapsed: 3 * time.Second, wantErr: ErrStaleLease, wantStale: len(fencedWrites) + 1},
		{name: "resumed long after", leading: true, elapsed: time.Minute, wantErr: ErrStaleLease, wantStale: len(fencedWrites) + 1},
		{name: "not leading: refused, not stale", leading: false, elapsed: 0, wantErr: ErrNotLeading, wantStale: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lock := newLock(LockOptions{Identity: "me", RenewDeadline: 3 * time.Second})
			now := t0
			lock.now = func() time.Time { return now }
			if tc.leading {
				lock.wrote(resourcelock.LeaderElectionRecord{HolderIdentity: "me"}, t0, "test")
			}
			now = t0.Add(tc.elapsed)
			stale := 0
			other := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other"}}
			c := Fence(fake.NewClientBuilder().WithObjects(other.DeepCopy()).WithStatusSubresource(other.DeepCopy()).Build(), lock, func() { stale++ })

			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "project-a"}}
			err := c.Create(context.Background(), ns)
			for name, write := range fencedWrites {
				werr := write(c, other)
				if tc.wantWrite {
					assert.False(t, errors.Is(werr, ErrStaleLease) || errors.Is(werr, ErrNotLeading), "%s passes the fence: %v", name, werr)
				} else {
					assert.ErrorIs(t, werr, tc.wantErr, name)
				}
			}

			var got corev1.Namespace
			getErr := c.Get(context.Background(), client.ObjectKey{Name: "project-a"}, &got)
			if tc.wantWrite {
				require.NoError(t, err)
				require.NoError(t, getErr, "the write reached the API")
				assert.Zero(t, stale)
				return
			}
			assert.ErrorIs(t, err, tc.wantErr)
			assert.Error(t, getErr, "nothing was written")
			assert.Equal(t, tc.wantStale, stale, "every refused write of a believed leader reports the stale lease")
		})
	}
}

func TestWatchdogStopsAStaleLeader(t *testing.T) {
	lock := newLock(LockOptions{Identity: "me", RenewDeadline: 50 * time.Millisecond})
	lock.wrote(resourcelock.LeaderElectionRecord{HolderIdentity: "me"}, time.Now(), "test")
	stale := make(chan struct{})
	w := &Watchdog{Lock: lock, Interval: 5 * time.Millisecond, OnStale: func() { close(stale) }}
	assert.True(t, w.NeedLeaderElection())
	done := make(chan error)
	go func() { done <- w.Start(context.Background()) }()
	select {
	case <-stale:
	case <-time.After(5 * time.Second):
		t.Fatal("the watchdog never noticed the stale lease")
	}
	require.NoError(t, <-done)
}

func TestDrainRefusesAcquisitionButRenews(t *testing.T) {
	cases := []struct {
		name    string
		leading bool
		holder  string
		wantErr error
	}{
		{name: "a draining follower does not take the lease", leading: false, holder: "me", wantErr: ErrDraining},
		{name: "a draining leader keeps renewing until it releases", leading: true, holder: "me", wantErr: nil},
		{name: "a draining leader may release", leading: true, holder: "", wantErr: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lock := newLock(LockOptions{Identity: "me", RenewDeadline: time.Minute})
			if tc.leading {
				lock.wrote(resourcelock.LeaderElectionRecord{HolderIdentity: "me"}, time.Now(), "test")
			}
			lock.Drain()
			assert.ErrorIs(t, lock.refuseAcquire(context.Background(), resourcelock.LeaderElectionRecord{HolderIdentity: tc.holder}), tc.wantErr)
		})
	}
}

// TestNoReleaseOfAnotherHoldersLease: client-go's release reads the Lease,
// then writes an empty holder if its own stale record says it leads; a
// resumed ex-leader must not clear the new holder's Lease that way.
func TestNoReleaseOfAnotherHoldersLease(t *testing.T) {
	cases := []struct {
		name     string
		observed string
		wantErr  bool
	}{
		{name: "releasing our own lease", observed: "me", wantErr: false},
		{name: "lease already released", observed: "", wantErr: false},
		{name: "lease taken by another replica while we were paused", observed: "other", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lock := newLock(LockOptions{Identity: "me", RenewDeadline: time.Minute})
			lock.setInner(&fakeLock{})
			lock.observe(&resourcelock.LeaderElectionRecord{HolderIdentity: tc.observed})
			err := lock.Update(context.Background(), resourcelock.LeaderElectionRecord{HolderIdentity: ""})
			if tc.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "held by other")
				return
			}
			require.NoError(t, err)
		})
	}
}

// fakeLock accepts every write.
type fakeLock struct{ resourcelock.Interface }

func (*fakeLock) Update(context.Context, resourcelock.LeaderElectionRecord) error { return nil }
func (*fakeLock) Describe() string                                                { return "ns/lease" }
func (*fakeLock) Identity() string                                                { return "me" }

func TestPodNotStopping(t *testing.T) {
	now := metav1.Now()
	cases := []struct {
		name    string
		pod     *corev1.Pod
		wantErr string
	}{
		{name: "pod running", pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}},
		{name: "pod being deleted", pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", DeletionTimestamp: &now, Finalizers: []string{"x"}}}, wantErr: "being deleted"},
		{name: "pod gone", wantErr: "gone"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kube := kubefake.NewClientset()
			if tc.pod != nil {
				require.NoError(t, kube.Tracker().Add(tc.pod))
			}
			lock := newLock(LockOptions{Identity: "p", RenewDeadline: time.Minute, MayAcquire: PodNotStopping(kube, "ns", "p")})
			err := lock.refuseAcquire(context.Background(), resourcelock.LeaderElectionRecord{HolderIdentity: "p"})
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestOwnPodGuard(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
	cases := []struct {
		name      string
		pod       *corev1.Pod
		failReads int // the first reads fail with a server error
		wantGuard bool
		wantLog   string
	}{
		{name: "pod readable at once", pod: pod, wantGuard: true},
		{name: "first reads fail, then succeed: retried, guard on", pod: pod, failReads: 2, wantGuard: true, wantLog: "retrying"},
		{name: "never readable: guard stays on, said so", pod: pod, failReads: 1 << 30, wantGuard: true, wantLog: "stays on"},
		{name: "no such pod: guard off, said so", wantGuard: false, wantLog: "not guarding"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kube := kubefake.NewClientset()
			if tc.pod != nil {
				require.NoError(t, kube.Tracker().Add(tc.pod))
			}
			var reads atomic.Int32
			kube.PrependReactor("get", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
				if int(reads.Add(1)) <= tc.failReads {
					return true, nil, apierrors.NewServiceUnavailable("etcd leader changed")
				}
				return false, nil, nil
			})
			var buf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&buf, nil))
			guard := OwnPodGuard(context.Background(), kube, "ns", "p", 300*time.Millisecond, 50*time.Millisecond, log)
			assert.Equal(t, tc.wantGuard, guard != nil)
			if tc.wantLog != "" {
				assert.Contains(t, buf.String(), tc.wantLog)
			}
		})
	}
}

// RecordEvent is a no-op: the events go nowhere in these tests.
func (*fakeLock) RecordEvent(string) {}

// TestRenewalFailedTellsALostLeaseFromAStop: the elector's renewal loop
// ends either way; the Lock says it was lost when the Lease had not been
// renewed within the renew deadline at that moment (seen at the release,
// or at "stopped leading" when nothing is released), and not when the
// replica was asked to stop right after a renewal.
func TestRenewalFailedTellsALostLeaseFromAStop(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		leading bool
		elapsed time.Duration // since the last renewal, when the loop ends
		release bool          // the elector releases (ReleaseOnCancel)
		want    bool
	}{
		{name: "asked to stop, released", leading: true, elapsed: time.Second, release: true, want: false},
		{name: "asked to stop, not released", leading: true, elapsed: time.Second, want: false},
		{name: "renew deadline passed, released", leading: true, elapsed: 3 * time.Second, release: true, want: true},
		{name: "renew deadline passed, not released", leading: true, elapsed: 3 * time.Second, want: true},
		{name: "never led", leading: false, elapsed: time.Minute, want: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lock := newLock(LockOptions{Identity: "me", RenewDeadline: 3 * time.Second})
			lock.setInner(&fakeLock{})
			now := t0
			lock.now = func() time.Time { return now }
			if tc.leading {
				lock.wrote(resourcelock.LeaderElectionRecord{HolderIdentity: "me"}, t0, "test")
			}
			now = t0.Add(tc.elapsed)
			// client-go's renew: the release (if any), then the event.
			if tc.release {
				require.NoError(t, lock.Update(context.Background(), resourcelock.LeaderElectionRecord{HolderIdentity: ""}))
			}
			lock.RecordEvent("stopped leading")
			assert.Equal(t, tc.want, lock.RenewalFailed())
		})
	}
}
