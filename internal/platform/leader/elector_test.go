package leader

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

// electorTimings are short enough for a unit test and keep the margin
// above MinLeaseMargin.
const (
	testLease  = 12 * time.Second
	testRenew  = 10 * time.Second
	testRetry  = 50 * time.Millisecond
	leaseNS    = "platform"
	leaseName  = "primus-leader"
	myIdentity = "primus-0_abcde"
)

// optimisticLeases makes the fake clientset refuse a Lease update whose
// resourceVersion is not the stored one, as the API server does; the fake
// tracker alone accepts any write.
func optimisticLeases(kube *kubefake.Clientset) {
	var mu sync.Mutex
	kube.PrependReactor("update", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		lease := a.(k8stesting.UpdateAction).GetObject().(*coordinationv1.Lease)
		stored, err := kube.Tracker().Get(coordinationv1.SchemeGroupVersion.WithResource("leases"), lease.Namespace, lease.Name)
		if err != nil {
			return true, nil, err
		}
		rv := stored.(*coordinationv1.Lease).ResourceVersion
		if lease.ResourceVersion != rv {
			return true, nil, apierrors.NewConflict(coordinationv1.Resource("leases"), lease.Name, nil)
		}
		n, _ := strconv.Atoi(rv)
		lease.ResourceVersion = strconv.Itoa(n + 1)
		return false, nil, nil // the tracker stores it
	})
}

// runElector runs client-go's LeaderElector on a Lock over kube until ctx
// ends; the returned channel is closed when it has returned.
func runElector(ctx context.Context, t *testing.T, kube *kubefake.Clientset) (*Lock, <-chan struct{}) {
	t.Helper()
	lock, err := NewLock(kube, LockOptions{Namespace: leaseNS, Name: leaseName, Identity: myIdentity,
		RenewDeadline: testRenew, LeaseDuration: testLease})
	require.NoError(t, err)
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: lock, LeaseDuration: testLease, RenewDeadline: testRenew, RetryPeriod: testRetry,
		ReleaseOnCancel: true, Name: "test",
		Callbacks: leaderelection.LeaderCallbacks{OnStartedLeading: func(context.Context) {}, OnStoppedLeading: func() {}},
	})
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); le.Run(ctx) }()
	require.Eventually(t, lock.Fresh, 5*time.Second, 5*time.Millisecond, "never elected")
	return lock, done
}

func newLeaseClient(t *testing.T) *kubefake.Clientset {
	t.Helper()
	kube := kubefake.NewClientset(&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: leaseNS, Name: leaseName, ResourceVersion: "1"}})
	optimisticLeases(kube)
	return kube
}

func TestAnotherHolderSeenWhileLeadingEndsLeadingAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kube := newLeaseClient(t)
	lock, done := runElector(ctx, t, kube)
	defer func() { cancel(); <-done }()

	// kubectl delete lease && a Helm upgrade re-creates it, then another
	// replica takes the new one: the renewal conflicts and the re-read
	// shows another holder, long before this replica's renew deadline.
	leases := kube.CoordinationV1().Leases(leaseNS)
	require.NoError(t, leases.Delete(ctx, leaseName, metav1.DeleteOptions{}))
	other, now := "primus-1_fghij", metav1.NewMicroTime(time.Now())
	secs := int32(testLease / time.Second)
	spec := coordinationv1.LeaseSpec{HolderIdentity: &other, RenewTime: &now, AcquireTime: &now, LeaseDurationSeconds: &secs}
	_, err := leases.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: leaseNS, Name: leaseName, ResourceVersion: "100"},
		Spec: spec}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// A renewal came between the delete and the create, found no
		// Lease and created it again as this replica's: the other
		// replica takes that one instead.
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			l, err := leases.Get(ctx, leaseName, metav1.GetOptions{})
			if err != nil {
				return err
			}
			l.Spec = spec
			_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
			return err
		})
	}
	require.NoError(t, err)

	require.Eventually(t, func() bool { return !lock.Fresh() }, testRenew/4, 5*time.Millisecond,
		"a leader that saw another holder must stop leading at once, not at the renew deadline")
	stale := 0
	c := Fence(fake.NewClientBuilder().Build(), lock, func() { stale++ })
	err = c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "project-a"}})
	assert.ErrorIs(t, err, ErrStaleLease)
	assert.Equal(t, 1, stale, "the stale hook stops the process")
	assert.Contains(t, lock.StaleReason(), other)
}

func TestReleaseIsFencedBeforeItIsSent(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	kube := newLeaseClient(t)
	inFlight, proceed := make(chan struct{}), make(chan struct{})
	kube.PrependReactor("update", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		lease := a.(k8stesting.UpdateAction).GetObject().(*coordinationv1.Lease)
		if lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity == "" {
			close(inFlight)
			<-proceed // the server has the release; the reply is not back yet
		}
		return false, nil, nil
	})
	lock, done := runElector(ctx, t, kube)
	var stale atomic.Int32
	c := Fence(fake.NewClientBuilder().Build(), lock, func() { stale.Add(1) })

	cancel() // a graceful stop: client-go releases the Lease
	select {
	case <-inFlight:
	case <-time.After(5 * time.Second):
		t.Fatal("the elector never released the lease")
	}
	assert.False(t, lock.Fresh(), "no write may pass while the release is on the wire")
	err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "project-a"}})
	assert.ErrorIs(t, err, ErrNotLeading)
	close(proceed)
	<-done

	err = c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "project-b"}})
	assert.ErrorIs(t, err, ErrNotLeading, "after a clean release")
	assert.Zero(t, stale.Load(), "a clean stop is not a lost lease")
}

func TestFencedWritesCarryTheWriteDeadline(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	kube := newLeaseClient(t)
	lock, done := runElector(ctx, t, kube)
	defer func() { cancel(); <-done }()

	var got time.Time
	var had bool
	inner := fake.NewClientBuilder().WithInterceptorFuncs(interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			got, had = ctx.Deadline()
			return c.Create(ctx, obj, opts...)
		},
	}).Build()
	c := Fence(inner, lock, nil)
	require.NoError(t, c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "project-a"}}))
	require.True(t, had, "a fenced write has a deadline")
	lock.mu.Lock()
	renewedAt := lock.renewedAt
	lock.mu.Unlock()
	margin := testLease - testRenew
	assert.False(t, got.After(renewedAt.Add(testLease-margin/2)), "deadline %s, last renewal %s", got, renewedAt)
	assert.True(t, got.After(renewedAt.Add(testRenew)), "a write admitted at the renew deadline still has time")
}

// TestRestartInPlaceIsANewCandidate drives client-go's LeaderElector: a
// leader's container crashes (no release) and restarts in place under the
// same POD_NAME. The new process must not find itself holding the Lease:
// it takes it only once the crashed process's claim has expired, like any
// standby, and the takeover is a counted transition.
func TestRestartInPlaceIsANewCandidate(t *testing.T) {
	const (
		lease = 3 * time.Second
		renew = lease - MinLeaseMargin
	)
	t.Setenv("POD_NAME", "primus-0")
	kube := newLeaseClient(t)
	elect := func(ctx context.Context, identity string) (*Lock, <-chan struct{}) {
		lock, err := NewLock(kube, LockOptions{Namespace: leaseNS, Name: leaseName, Identity: identity,
			RenewDeadline: renew, LeaseDuration: lease})
		require.NoError(t, err)
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: lock, LeaseDuration: lease, RenewDeadline: renew, RetryPeriod: testRetry, Name: "test",
			Callbacks: leaderelection.LeaderCallbacks{OnStartedLeading: func(context.Context) {}, OnStoppedLeading: func() {}},
		})
		require.NoError(t, err)
		done := make(chan struct{})
		go func() { defer close(done); le.Run(ctx) }()
		return lock, done
	}
	leaseNow := func() *coordinationv1.Lease {
		l, err := kube.CoordinationV1().Leases(leaseNS).Get(context.Background(), leaseName, metav1.GetOptions{})
		require.NoError(t, err)
		return l
	}

	crashed, crash := context.WithCancel(context.Background())
	first, done := elect(crashed, Identity())
	require.Eventually(t, first.Fresh, 5*time.Second, 5*time.Millisecond, "never elected")
	before := ptr.Deref(leaseNow().Spec.LeaseTransitions, 0)
	crash() // no ReleaseOnCancel: the Lease keeps the crashed process's claim
	<-done
	renewed := leaseNow().Spec.RenewTime.Time

	ctx, cancel := context.WithCancel(context.Background())
	restarted, done := elect(ctx, Identity())
	defer func() { cancel(); <-done }()
	require.Eventually(t, restarted.Fresh, 3*lease, 5*time.Millisecond, "the restarted process never took the expired Lease")
	took := time.Now()

	l := leaseNow()
	assert.Equal(t, "primus-0", HolderPod(*l.Spec.HolderIdentity), "the same Pod leads again")
	assert.NotEqual(t, first.Identity(), *l.Spec.HolderIdentity, "under a new identity")
	assert.GreaterOrEqual(t, took.Sub(renewed), lease-time.Second/2,
		"the restarted process waited for the crashed one's claim to expire instead of taking it back as its own")
	assert.Equal(t, before+1, ptr.Deref(l.Spec.LeaseTransitions, 0), "the takeover is a counted transition")
}
