package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/ptr"
)

// DefaultMaxDelay bounds the random delay a standby waits before it tries
// to take a Lease it saw released or expire, so that several standbys do
// not all write at once.
const DefaultMaxDelay = 50 * time.Millisecond

// Watcher makes a standby take the Lease the moment it can, instead of at
// the next poll of client-go's elector: it watches the one Lease (a
// field-selected list and watch on its name) and tries to acquire it as
// soon as it sees it released (no holder) and when a lease duration has
// passed since it saw the holder's last renewal.
//
// Safety is client-go's: an acquisition is an Update carrying the
// resourceVersion of the Lease the watcher saw (a standby that lost the race
// gets a conflict and writes nothing), and a Lease with a holder is taken
// only once its record has not changed for its leaseDurationSeconds, as
// measured on this replica's clock from when the watcher first saw it:
// client-go's expiry rule. It never acquires while the Lock is draining or
// its MayAcquire objects.
//
// The elector still does the rest: WatchLock makes its poll wait for the
// watcher, so that right after an acquisition the elector reads the Lease,
// finds this replica holding it, renews it and starts the controllers.
// When the watch breaks, the elector's poll is the fallback.
type Watcher struct {
	lock          *Lock
	leases        coordinationv1client.LeaseInterface
	name          string
	leaseDuration time.Duration
	maxDelay      time.Duration
	maxWait       time.Duration
	retry         time.Duration
	log           *slog.Logger
	now           func() time.Time

	mu      sync.Mutex
	lease   *coordinationv1.Lease // last seen
	seenAt  time.Time             // when lease's resourceVersion was first seen
	healthy bool                  // the watch delivers events
	listed  bool                  // the first list answered, or failed
	nudged  bool                  // an attempt failed: let the elector poll
	// lastHolder is the last non-empty holder seen: a release clears the
	// holder, and the acquisition that follows names who released it.
	lastHolder string
	// lastEvent is when the watch last delivered the Lease.
	lastEvent time.Time
	timer     *time.Timer
	wake      chan struct{} // closed, and replaced, to wake WatchLock.Get
	ctx       context.Context
}

// WatcherOptions configures NewWatcher.
type WatcherOptions struct {
	// Namespace and Name locate the Lease.
	Namespace, Name string
	// LeaseDuration is the election's lease duration, written into the
	// Lease on acquisition.
	LeaseDuration time.Duration
	// MaxDelay bounds the random delay before an attempt; zero means
	// DefaultMaxDelay, negative means none.
	MaxDelay time.Duration
	// MaxWait is how often WatchLock.Get, holding the elector's poll back,
	// checks that the watch is alive; zero means LeaseDuration.
	MaxWait time.Duration
	// Log receives a line per acquisition. Nil discards.
	Log *slog.Logger
}

// NewWatcher returns a Watcher that acquires the Lease for lock.
func NewWatcher(kube kubernetes.Interface, lock *Lock, opts WatcherOptions) *Watcher {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	switch {
	case opts.MaxDelay == 0:
		opts.MaxDelay = DefaultMaxDelay
	case opts.MaxDelay < 0:
		opts.MaxDelay = 0
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = opts.LeaseDuration
	}
	return &Watcher{
		lock: lock, leases: kube.CoordinationV1().Leases(opts.Namespace), name: opts.Name,
		leaseDuration: opts.LeaseDuration, maxDelay: opts.MaxDelay, maxWait: opts.MaxWait, retry: time.Second,
		log: opts.Log.With("identity", lock.identity, "lease", opts.Namespace+"/"+opts.Name),
		now: time.Now, wake: make(chan struct{}),
	}
}

// NeedLeaderElection makes the manager start the watcher on every replica,
// before the election.
func (w *Watcher) NeedLeaderElection() bool { return false }

// Start watches the Lease until ctx ends: a field-selected list, then a
// watch from its resourceVersion; when the watch ends or fails, it lists
// again after a short pause, and the elector polls meanwhile.
func (w *Watcher) Start(ctx context.Context) error {
	w.mu.Lock()
	w.ctx = ctx
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.healthy = false
		if w.timer != nil {
			w.timer.Stop()
		}
		w.wakeLocked()
		w.mu.Unlock()
	}()
	sel := fields.OneTermEqualSelector("metadata.name", w.name).String()
	for ctx.Err() == nil {
		err := w.listAndWatch(ctx, sel)
		if ctx.Err() != nil {
			return nil
		}
		w.broken(err)
		select {
		case <-ctx.Done():
		case <-time.After(w.retry):
		}
	}
	return nil
}

// listAndWatch lists the Lease and watches it until the watch ends.
func (w *Watcher) listAndWatch(ctx context.Context, sel string) error {
	list, err := w.leases.List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return fmt.Errorf("list lease: %w", err)
	}
	if len(list.Items) == 0 {
		w.forget()
	}
	for i := range list.Items {
		w.saw(&list.Items[i])
	}
	wi, err := w.leases.Watch(ctx, metav1.ListOptions{FieldSelector: sel, ResourceVersion: list.ResourceVersion, AllowWatchBookmarks: true})
	if err != nil {
		return fmt.Errorf("watch lease: %w", err)
	}
	defer wi.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-wi.ResultChan():
			if !ok {
				return errors.New("lease watch closed")
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				w.saw(ev.Object)
			case watch.Deleted:
				w.forget()
			case watch.Error:
				return fmt.Errorf("lease watch: %v", apierrors.FromObject(ev.Object))
			}
		}
	}
}

// saw records the Lease as the watch delivered it, wakes the elector's
// waiting poll when it names this replica, and schedules the next attempt.
func (w *Watcher) saw(obj any) {
	l, ok := obj.(*coordinationv1.Lease)
	if !ok || l.Name != w.name {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.listed {
		defer w.wakeLocked()
	}
	w.healthy, w.listed, w.lastEvent = true, true, w.now()
	if w.lease != nil && w.lease.ResourceVersion == l.ResourceVersion {
		return
	}
	w.lease, w.seenAt = l.DeepCopy(), w.now()
	if h := ptr.Deref(l.Spec.HolderIdentity, ""); h != "" {
		w.lastHolder = h
		w.lock.sawHolder(h)
	}
	// A Lease naming this replica is its own acquisition (acquire records
	// it at once too, but the elector's own Update can also return before
	// the watch delivers it): a waiting elector poll looks again and starts
	// leading. Other changes are the watcher's to act on (a release: an
	// attempt; a renewal: the next expiry), so they do not make every
	// standby's elector poll the API server at every renewal.
	if ptr.Deref(l.Spec.HolderIdentity, "") == w.lock.identity {
		w.wakeLocked()
	}
	w.scheduleLocked()
}

// forget drops a deleted Lease: the elector's poll recreates it.
func (w *Watcher) forget() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lease, w.listed = nil, true
	if w.timer != nil {
		w.timer.Stop()
	}
	w.wakeLocked()
}

// broken marks the watch as failing: the elector polls until it delivers
// again.
func (w *Watcher) broken(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.healthy {
		w.log.Warn("lease watch broken; polling until it resumes", "err", err.Error())
	}
	w.healthy, w.listed = false, true
	w.wakeLocked()
}

// wakeLocked wakes every WatchLock.Get waiting. Call with w.mu held.
func (w *Watcher) wakeLocked() {
	close(w.wake)
	w.wake = make(chan struct{})
}

// scheduleLocked arms the timer for the next attempt on w.lease: soon
// when it has no holder, a lease duration after it was seen when another
// replica holds it, never when this replica leads. Call with w.mu held.
func (w *Watcher) scheduleLocked() {
	if w.timer != nil {
		w.timer.Stop()
	}
	rec := resourcelock.LeaseSpecToLeaderElectionRecord(&w.lease.Spec)
	if rec.HolderIdentity == w.lock.identity || w.lock.Leading() {
		return
	}
	at := w.seenAt
	if rec.HolderIdentity != "" {
		at = at.Add(time.Duration(rec.LeaseDurationSeconds) * time.Second)
	}
	var jitter time.Duration
	if w.maxDelay > 0 {
		jitter = rand.N(w.maxDelay)
	}
	rv := w.lease.ResourceVersion
	// A millisecond past the expiry: client-go's rule is "strictly after".
	w.timer = time.AfterFunc(at.Sub(w.now())+jitter+time.Millisecond, func() { w.attempt(rv) })
}

// errChanged means the Lease changed since the attempt was scheduled.
var errChanged = errors.New("lease changed")

// attempt tries to take the Lease if it is still at resourceVersion rv.
func (w *Watcher) attempt(rv string) {
	w.mu.Lock()
	ctx := w.ctx
	w.mu.Unlock()
	if ctx == nil || ctx.Err() != nil {
		return
	}
	reason, err := w.acquire(ctx, rv)
	switch {
	case errors.Is(err, errChanged), apierrors.IsConflict(err):
		// Another write came first; its watch event reschedules.
		return
	case err != nil:
		// Let the elector's poll try instead.
		w.log.Debug("lease not taken on watch", "reason", err.Error())
		w.mu.Lock()
		w.nudged = true
		w.wakeLocked()
		w.mu.Unlock()
		return
	default:
		w.log.Info("lease taken on watch", "reason", reason)
	}
	w.mu.Lock()
	w.wakeLocked()
	w.mu.Unlock()
}

// acquire writes this replica as the holder of the Lease at rv, under
// client-go's rule, and says why it could.
func (w *Watcher) acquire(ctx context.Context, rv string) (string, error) {
	w.mu.Lock()
	lease, seenAt, lastHolder := w.lease, w.seenAt, w.lastHolder
	w.mu.Unlock()
	if lease == nil || lease.ResourceVersion != rv || w.lock.Leading() {
		return "", errChanged
	}
	old := resourcelock.LeaseSpecToLeaderElectionRecord(&lease.Spec)
	now := w.now()
	previous := old.HolderIdentity
	var reason string
	switch {
	case previous != "":
	case old.RenewTime.IsZero():
		reason = "lease never held"
	case lastHolder != "" && lastHolder != w.lock.identity:
		// A release empties the holder: name the one this replica saw.
		previous = lastHolder
		reason = "lease released by " + lastHolder
	default:
		reason = "lease released by the previous holder"
	}
	if old.HolderIdentity != "" {
		expiry := seenAt.Add(time.Duration(old.LeaseDurationSeconds) * time.Second)
		if !now.After(expiry) {
			return "", fmt.Errorf("lease of %s has not expired", old.HolderIdentity)
		}
		reason = fmt.Sprintf("lease of %s expired: not renewed for %s since this replica saw it", old.HolderIdentity, now.Sub(seenAt).Round(time.Millisecond))
	}
	rec := resourcelock.LeaderElectionRecord{
		HolderIdentity:       w.lock.identity,
		LeaseDurationSeconds: int(w.leaseDuration / time.Second),
		AcquireTime:          metav1.NewTime(now),
		RenewTime:            metav1.NewTime(now),
		LeaderTransitions:    old.LeaderTransitions + 1,
	}
	if err := w.lock.refuseAcquire(ctx, rec); err != nil {
		return "", err
	}
	upd := lease.DeepCopy()
	upd.Spec = resourcelock.LeaderElectionRecordToLeaseSpec(&rec)
	// Recorded before the write: the elector, polling a free Lease, can
	// read this write and renew before Update returns here, and its log of
	// the acquisition must say whose Lease it was and why.
	w.lock.tookOnWatch(previous, reason)
	taken, err := w.leases.Update(ctx, upd, metav1.UpdateOptions{})
	if err != nil {
		w.lock.forgetTakeover()
		return "", err
	}
	// Record the write now rather than when its watch event arrives: the
	// elector's poll, woken next, then sees this replica holding the Lease
	// at once instead of waiting for the event (which wakes it again, see
	// saw).
	w.saw(taken)
	return reason, nil
}

// wait holds a poll of the elector back while the watcher has the Lease in
// hand: it returns when this replica holds it (the watcher took it), when
// the Lease is free (the elector tries itself), when the watch broke or
// fell silent for two maxWaits (a held Lease is renewed every retry period,
// so a live watch is never silent that long), when an attempt failed other
// than by losing a race, or when ctx ends. Until the first list it waits
// for it.
func (w *Watcher) wait(ctx context.Context) {
	for {
		w.mu.Lock()
		ready, ch := w.pollNowLocked(), w.wake
		w.mu.Unlock()
		if ready {
			return
		}
		t := time.NewTimer(w.maxWait)
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
		t.Stop()
	}
}

// pollNowLocked reports whether the elector should read the Lease now.
// Call with w.mu held.
func (w *Watcher) pollNowLocked() bool {
	switch {
	case w.nudged:
		w.nudged = false
		return true
	case !w.listed:
		return false
	case !w.healthy || w.lease == nil:
		return true
	case w.now().Sub(w.lastEvent) > 2*w.maxWait:
		return true
	}
	holder := resourcelock.LeaseSpecToLeaderElectionRecord(&w.lease.Spec).HolderIdentity
	return holder == "" || holder == w.lock.identity
}

// WatchLock is a Lock whose Get, while this replica does not lead, waits
// for its Watcher (see Watcher). Hand it to the manager in place of the
// Lock; fence with the Lock.
type WatchLock struct {
	*Lock
	w *Watcher
}

// NewWatchLock returns lock with its reads paced by w.
func NewWatchLock(lock *Lock, w *Watcher) *WatchLock { return &WatchLock{Lock: lock, w: w} }

// Get waits for the watcher unless this replica leads, then reads the
// Lease as Lock.Get does.
func (l *WatchLock) Get(ctx context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	if !l.Leading() {
		l.w.wait(ctx)
	}
	return l.Lock.Get(ctx)
}
