package leader

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/utils/ptr"

	"github.com/primus-dev/primus/internal/testharness/syncbuf"
)

// leaseServer is a fake API server for one Lease with the API server's
// optimistic concurrency: an Update whose resourceVersion is not the
// stored one fails with a conflict. It counts the writes that changed the
// holder to a non-empty identity.
type leaseServer struct {
	kube     *kubefake.Clientset
	mu       sync.Mutex
	acquired []string // holders, in the order they took the Lease
}

func newLeaseServer(t *testing.T, spec coordinationv1.LeaseSpec) *leaseServer {
	t.Helper()
	s := &leaseServer{kube: kubefake.NewClientset(&coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "primus-leader", Namespace: "platform", ResourceVersion: "1"},
		Spec:       spec,
	})}
	s.kube.PrependReactor("update", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		upd := a.(k8stesting.UpdateAction).GetObject().(*coordinationv1.Lease).DeepCopy()
		gvr := coordinationv1.SchemeGroupVersion.WithResource("leases")
		cur, err := s.kube.Tracker().Get(gvr, upd.Namespace, upd.Name)
		if err != nil {
			return true, nil, err
		}
		old := cur.(*coordinationv1.Lease)
		if upd.ResourceVersion != old.ResourceVersion {
			return true, nil, apierrors.NewConflict(gvr.GroupResource(), upd.Name, fmt.Errorf("resourceVersion %s is not %s", upd.ResourceVersion, old.ResourceVersion))
		}
		rv, _ := strconv.Atoi(old.ResourceVersion)
		upd.ResourceVersion = strconv.Itoa(rv + 1)
		if h := ptr.Deref(upd.Spec.HolderIdentity, ""); h != "" && h != ptr.Deref(old.Spec.HolderIdentity, "") {
			s.mu.Lock()
			s.acquired = append(s.acquired, h)
			s.mu.Unlock()
		}
		return true, upd, s.kube.Tracker().Update(gvr, upd, upd.Namespace)
	})
	return s
}

func (s *leaseServer) takers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.acquired...)
}

func (s *leaseServer) lease(t *testing.T) *coordinationv1.Lease {
	t.Helper()
	l, err := s.kube.CoordinationV1().Leases("platform").Get(context.Background(), "primus-leader", metav1.GetOptions{})
	require.NoError(t, err)
	return l
}

// standby is one replica: client-go's elector on a WatchLock.
type standby struct {
	id      string
	lock    *Lock
	w       *Watcher
	started atomic.Int32
	done    chan struct{}
}

// runStandby starts a replica that campaigns until ctx ends. Its retry
// period is far longer than the test, so only the watch can make it lead.
func runStandby(ctx context.Context, t *testing.T, s *leaseServer, id string) *standby {
	t.Helper()
	lock, err := NewLock(s.kube, LockOptions{Namespace: "platform", Name: "primus-leader", Identity: id, RenewDeadline: 20 * time.Second})
	require.NoError(t, err)
	w := NewWatcher(s.kube, lock, WatcherOptions{Namespace: "platform", Name: "primus-leader", LeaseDuration: 30 * time.Second, MaxDelay: -1})
	sb := &standby{id: id, lock: lock, w: w, done: make(chan struct{})}
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: NewWatchLock(lock, w), LeaseDuration: 30 * time.Second, RenewDeadline: 20 * time.Second, RetryPeriod: 10 * time.Second,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) { sb.started.Add(1) },
			OnStoppedLeading: func() {},
		},
	})
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Go(func() { _ = w.Start(ctx) })
	wg.Go(func() { le.Run(ctx) })
	go func() { wg.Wait(); close(sb.done) }()
	return sb
}

func TestWatchersRacingForAReleasedLeaseElectOne(t *testing.T) {
	for round := range 10 {
		t.Run(fmt.Sprintf("round %d", round), func(t *testing.T) {
			// Held by a replica that is going away: nobody may take it until
			// it is released.
			now := metav1.NewMicroTime(time.Now())
			s := newLeaseServer(t, coordinationv1.LeaseSpec{
				HolderIdentity: ptr.To("old"), LeaseDurationSeconds: ptr.To[int32](30), RenewTime: &now, AcquireTime: &now,
			})
			ctx, cancel := context.WithCancel(context.Background())
			a := runStandby(ctx, t, s, "a")
			b := runStandby(ctx, t, s, "b")

			// Both watchers saw the held Lease (and hold their electors' polls
			// back). Release it as a stopping leader does.
			require.Eventually(t, func() bool { return a.w.seen() && b.w.seen() }, 10*time.Second, time.Millisecond)
			l := s.lease(t)
			l.Spec.HolderIdentity = ptr.To("")
			_, err := s.kube.CoordinationV1().Leases("platform").Update(context.Background(), l, metav1.UpdateOptions{})
			require.NoError(t, err)

			require.Eventually(t, func() bool { return a.started.Load()+b.started.Load() > 0 }, 10*time.Second, time.Millisecond,
				"a standby leads well before its 10s retry period: the watch made it try")
			cancel()
			<-a.done
			<-b.done

			takers := s.takers()
			require.Len(t, takers, 1, "exactly one standby took the released Lease")
			winner, loser := a, b
			if takers[0] == "b" {
				winner, loser = b, a
			}
			assert.Equal(t, int32(1), winner.started.Load(), "the holder started leading")
			assert.Equal(t, int32(0), loser.started.Load(), "the other never led")
			assert.Equal(t, winner.id, ptr.Deref(s.lease(t).Spec.HolderIdentity, ""))
		})
	}
}

func TestWatcherTakesAnExpiredLeaseOnlyAfterItsDuration(t *testing.T) {
	// The holder crashed: its last renewal is the record the watcher sees
	// first, and nobody renews it again.
	now := metav1.NewMicroTime(time.Now())
	s := newLeaseServer(t, coordinationv1.LeaseSpec{
		HolderIdentity: ptr.To("crashed"), LeaseDurationSeconds: ptr.To[int32](1), RenewTime: &now, AcquireTime: &now,
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lock, err := NewLock(s.kube, LockOptions{Namespace: "platform", Name: "primus-leader", Identity: "a", RenewDeadline: 2 * time.Second})
	require.NoError(t, err)
	w := NewWatcher(s.kube, lock, WatcherOptions{Namespace: "platform", Name: "primus-leader", LeaseDuration: 3 * time.Second})
	start := time.Now()
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Start(ctx) }()

	require.Eventually(t, func() bool { return len(s.takers()) > 0 }, 10*time.Second, 5*time.Millisecond)
	took := time.Since(start)
	cancel()
	<-done
	assert.Equal(t, []string{"a"}, s.takers())
	assert.GreaterOrEqual(t, took, time.Second, "an unexpired Lease with a holder is never taken")
	l := s.lease(t)
	assert.Equal(t, int32(3), ptr.Deref(l.Spec.LeaseDurationSeconds, 0), "written with this replica's lease duration")
	assert.Equal(t, int32(1), ptr.Deref(l.Spec.LeaseTransitions, 0))
}

func TestWatcherNeverAcquiresWhileDraining(t *testing.T) {
	s := newLeaseServer(t, coordinationv1.LeaseSpec{HolderIdentity: ptr.To("")})
	lock, err := NewLock(s.kube, LockOptions{Namespace: "platform", Name: "primus-leader", Identity: "a", RenewDeadline: 2 * time.Second})
	require.NoError(t, err)
	lock.Drain()
	w := NewWatcher(s.kube, lock, WatcherOptions{Namespace: "platform", Name: "primus-leader", LeaseDuration: 3 * time.Second, MaxDelay: -1})
	w.mu.Lock()
	w.ctx = context.Background()
	w.mu.Unlock()
	w.saw(s.lease(t))
	w.mu.Lock()
	rv := w.lease.ResourceVersion
	w.mu.Unlock()
	_, err = w.acquire(context.Background(), rv)
	require.ErrorIs(t, err, ErrDraining)
	assert.Empty(t, s.takers())
}

// seen reports whether the watcher has seen the Lease.
func (w *Watcher) seen() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lease != nil
}

// TestWatcherWakesTheElectorWhenItsOwnAcquisitionArrives covers the order
// a loaded API server gives: the watcher's Update returns (attempt wakes
// the elector, which still sees the old holder and waits again) before the
// watch delivers the Lease naming this replica. That event must wake the
// elector, or it waits a whole maxWait (a lease duration) holding a Lease
// it never renews, with its controllers stopped, while the Lease says it
// leads.
func TestWatcherWakesTheElectorWhenItsOwnAcquisitionArrives(t *testing.T) {
	now := metav1.NewMicroTime(time.Now())
	s := newLeaseServer(t, coordinationv1.LeaseSpec{
		HolderIdentity: ptr.To("crashed"), LeaseDurationSeconds: ptr.To[int32](15), RenewTime: &now, AcquireTime: &now,
	})
	lock, err := NewLock(s.kube, LockOptions{Namespace: "platform", Name: "primus-leader", Identity: "a", RenewDeadline: 10 * time.Second})
	require.NoError(t, err)
	w := NewWatcher(s.kube, lock, WatcherOptions{Namespace: "platform", Name: "primus-leader", LeaseDuration: 15 * time.Second, MaxWait: time.Hour})
	w.saw(s.lease(t)) // held by another: the elector's poll waits

	// Know when the waiting elector has looked at the Lease: pollNowLocked
	// reads the clock, under w.mu, right before wait blocks.
	looked := make(chan struct{}, 1)
	w.mu.Lock()
	w.now = func() time.Time {
		select {
		case looked <- struct{}{}:
		default:
		}
		return time.Now()
	}
	w.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	returned := make(chan struct{})
	go func() { defer close(returned); w.wait(ctx) }()
	<-looked

	// This replica's acquisition, as the watch delivers it after the
	// Update returned.
	l := s.lease(t)
	l.Spec.HolderIdentity = ptr.To("a")
	l, err = s.kube.CoordinationV1().Leases("platform").Update(context.Background(), l, metav1.UpdateOptions{})
	require.NoError(t, err)
	w.saw(l)
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("the elector's poll still waits although the Lease names this replica")
	}
}

func TestWatchTakeoverLogsWhyAndFromWhom(t *testing.T) {
	tests := []struct {
		name         string
		spec         func() coordinationv1.LeaseSpec
		release      bool // the holder releases the Lease once both watch it
		wantReason   string
		wantPrevious string
	}{
		{
			name: "released by its holder",
			spec: func() coordinationv1.LeaseSpec {
				now := metav1.NewMicroTime(time.Now())
				return coordinationv1.LeaseSpec{HolderIdentity: ptr.To("old"), LeaseDurationSeconds: ptr.To[int32](30), RenewTime: &now, AcquireTime: &now}
			},
			release: true,
			// The watcher's write usually wins ("...; taken on watch"); the
			// elector, which polls at once when the Lease is free, may win
			// on a loaded machine. Either way the log names who released.
			wantReason:   "lease released by old",
			wantPrevious: "old",
		},
		{
			name: "expired after its holder crashed",
			spec: func() coordinationv1.LeaseSpec {
				now := metav1.NewMicroTime(time.Now())
				return coordinationv1.LeaseSpec{HolderIdentity: ptr.To("crashed"), LeaseDurationSeconds: ptr.To[int32](1), RenewTime: &now, AcquireTime: &now}
			},
			wantReason:   "lease of crashed expired",
			wantPrevious: "crashed",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newLeaseServer(t, tc.spec())
			var buf syncbuf.Buffer
			lock, err := NewLock(s.kube, LockOptions{Namespace: "platform", Name: "primus-leader", Identity: "a", RenewDeadline: 20 * time.Second,
				Log: slog.New(slog.NewJSONHandler(&buf, nil))})
			require.NoError(t, err)
			w := NewWatcher(s.kube, lock, WatcherOptions{Namespace: "platform", Name: "primus-leader", LeaseDuration: 30 * time.Second, MaxDelay: -1})
			var started atomic.Int32
			le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
				Lock: NewWatchLock(lock, w), LeaseDuration: 30 * time.Second, RenewDeadline: 20 * time.Second, RetryPeriod: 10 * time.Second,
				Callbacks: leaderelection.LeaderCallbacks{OnStartedLeading: func(context.Context) { started.Add(1) }, OnStoppedLeading: func() {}},
			})
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Go(func() { _ = w.Start(ctx) })
			wg.Go(func() { le.Run(ctx) })
			defer func() { cancel(); wg.Wait() }()

			if tc.release {
				require.Eventually(t, w.seen, 10*time.Second, time.Millisecond)
				l := s.lease(t)
				l.Spec.HolderIdentity = ptr.To("")
				_, err := s.kube.CoordinationV1().Leases("platform").Update(context.Background(), l, metav1.UpdateOptions{})
				require.NoError(t, err)
			}
			require.Eventually(t, func() bool { return started.Load() > 0 }, 10*time.Second, time.Millisecond,
				"the watch, not the 10s poll, made this replica lead")

			var acquired []map[string]any
			for _, line := range logLines(t, bytes.NewBuffer(buf.Bytes())) {
				if line["msg"] == "leadership acquired" {
					acquired = append(acquired, line)
				}
			}
			require.Len(t, acquired, 1)
			assert.Contains(t, acquired[0]["reason"], tc.wantReason)
			assert.NotContains(t, acquired[0]["reason"], "still held by this identity", "the elector's renewal after the watcher's write is not the reason")
			assert.Equal(t, tc.wantPrevious, acquired[0]["previous"])
		})
	}
}

// TestAcquisitionAfterAReleaseNamesWhoReleased: the elector's own
// acquisition of a released Lease (its read shows no holder) names the
// holder the watcher last saw, as the watcher's takeover does.
func TestAcquisitionAfterAReleaseNamesWhoReleased(t *testing.T) {
	now := metav1.NewMicroTime(time.Now())
	s := newLeaseServer(t, coordinationv1.LeaseSpec{HolderIdentity: ptr.To(""), LeaseDurationSeconds: ptr.To[int32](30), RenewTime: &now, AcquireTime: &now})
	var buf syncbuf.Buffer
	lock, err := NewLock(s.kube, LockOptions{Namespace: "platform", Name: "primus-leader", Identity: "a", RenewDeadline: 20 * time.Second,
		Log: slog.New(slog.NewJSONHandler(&buf, nil))})
	require.NoError(t, err)
	lock.sawHolder("old") // the watch showed old before the release
	lock.sawHolder("a")   // this replica's own name is never the previous holder

	ctx := context.Background()
	rec, _, err := lock.Get(ctx)
	require.NoError(t, err)
	require.Empty(t, rec.HolderIdentity, "released")
	next := *rec // a new record, as the elector writes
	next.HolderIdentity = "a"
	require.NoError(t, lock.Update(ctx, next))

	var acquired []map[string]any
	for _, line := range logLines(t, bytes.NewBuffer(buf.Bytes())) {
		if line["msg"] == "leadership acquired" {
			acquired = append(acquired, line)
		}
	}
	require.Len(t, acquired, 1)
	assert.Equal(t, "lease released by old", acquired[0]["reason"])
	assert.Equal(t, "old", acquired[0]["previous"])
}
