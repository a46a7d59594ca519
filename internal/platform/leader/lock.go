package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Lock is the Lease lock controller-runtime's manager elects with
// (manager.Options.LeaderElectionResourceLockInterface). It delegates to
// client-go's LeaseLock and watches what passes through: it logs one line
// per leadership change, with this replica's identity, the holder and the
// reason, and keeps the leader metrics current.
//
// client-go's LeaseLock only ever calls Get, Create and Update on the named
// Lease, which is what the chart's Role grants.
type Lock struct {
	inner    resourcelock.Interface
	identity string
	log      *slog.Logger
	metrics  *Metrics
	now      func() time.Time

	// renewDeadline bounds how long after its last renewal began this
	// replica still counts as the leader (Fresh).
	renewDeadline time.Duration
	// leaseDuration is the election's lease duration; zero means unknown
	// (no write deadline beyond the renew deadline's).
	leaseDuration time.Duration

	mu       sync.Mutex
	observed *resourcelock.LeaderElectionRecord // last record seen or written
	leading  bool
	// renewedAt is when the last successful write holding the Lease began.
	renewedAt time.Time
	// draining refuses to acquire the Lease (a stopping replica must not
	// take over); renewing a Lease already held goes on.
	draining bool
	// releasing is set before the release is sent: from then on no fenced
	// write passes, whatever the server does with the release.
	releasing bool
	// usurper is the other holder a read of the Lease showed while this
	// replica led (the Lease was deleted and re-created, or another
	// process shares the identity); leadership ended at that read.
	usurper string
	// mayAcquire is LockOptions.MayAcquire.
	mayAcquire func(ctx context.Context) error
	lastErr    error // last failed Update while leading
	// renewalFailed is set when the elector gave up leading on a Lease
	// this replica had not renewed within the renew deadline (see
	// RenewalFailed), rather than because it was asked to stop.
	renewalFailed bool
	recorder      resourcelock.EventRecorder
	// takeover is what the Watcher recorded when it took the Lease for
	// this replica: the elector's next write is a renewal of a Lease it
	// already holds, and only the watcher knows whose it was and why it
	// could be taken.
	takeover *takeover
	// lastHolder is the last other holder seen, by a read of the Lease or
	// by the Watcher: a release empties the holder, and the log of the
	// acquisition that follows names who released it.
	lastHolder string
}

// LockOptions configures NewLock.
type LockOptions struct {
	// Namespace and Name locate the Lease.
	Namespace, Name string
	// Identity is this replica's identity, written as the holder.
	Identity string
	// Log receives the leadership lines. Nil discards them.
	Log *slog.Logger
	// Metrics are updated on every change. Nil means unmeasured.
	Metrics *Metrics
	// RenewDeadline is the election's renew deadline; Fresh is false once
	// the last renewal began longer ago than this.
	RenewDeadline time.Duration
	// LeaseDuration is the election's lease duration: fenced writes get a
	// context deadline within it (WriteDeadline). Zero means the renew
	// deadline alone bounds them.
	LeaseDuration time.Duration
	// MayAcquire, when set, is asked before this replica takes the Lease;
	// an error refuses the acquisition (e.g. this replica's Pod is being
	// deleted). Renewals of a Lease already held do not ask.
	MayAcquire func(ctx context.Context) error
}

// NewLock returns a Lock on the Lease opts.Namespace/opts.Name.
func NewLock(kube kubernetes.Interface, opts LockOptions) (*Lock, error) {
	l := newLock(opts)
	inner, err := resourcelock.New(resourcelock.LeasesResourceLock, opts.Namespace, opts.Name,
		kube.CoreV1(), kube.CoordinationV1(),
		resourcelock.ResourceLockConfig{Identity: opts.Identity, EventRecorder: l})
	if err != nil {
		return nil, fmt.Errorf("lease lock %s/%s: %w", opts.Namespace, opts.Name, err)
	}
	l.setInner(inner)
	return l, nil
}

// newLock returns a Lock without its inner lock.
func newLock(opts LockOptions) *Lock {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics, _ = NewMetrics(nil)
	}
	return &Lock{identity: opts.Identity, log: opts.Log, metrics: opts.Metrics, now: time.Now, renewDeadline: opts.RenewDeadline, leaseDuration: opts.LeaseDuration, mayAcquire: opts.MayAcquire}
}

// setInner sets the lock l delegates to.
func (l *Lock) setInner(inner resourcelock.Interface) {
	l.inner = inner
	l.log = l.log.With("identity", l.identity, "lease", inner.Describe())
}

// SetEventRecorder makes the Lock record client-go's leader-election events
// ("became leader", "stopped leading") on the Lease through r; the manager's
// recorder exists only after the Lock is handed to it. Until then events
// are dropped.
func (l *Lock) SetEventRecorder(r resourcelock.EventRecorder) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recorder = r
}

// Eventf implements resourcelock.EventRecorder for the inner lock.
func (l *Lock) Eventf(obj runtime.Object, eventType, reason, message string, args ...any) {
	l.mu.Lock()
	r := l.recorder
	l.mu.Unlock()
	if r != nil {
		r.Eventf(obj, eventType, reason, message, args...)
	}
}

// Get reads the Lease and logs when it names a holder this replica has not
// seen before.
func (l *Lock) Get(ctx context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	rec, raw, err := l.inner.Get(ctx)
	if err == nil {
		l.observe(rec)
	}
	return rec, raw, err
}

// Create creates the Lease holding it, when it does not exist.
func (l *Lock) Create(ctx context.Context, rec resourcelock.LeaderElectionRecord) error {
	if err := l.refuseAcquire(ctx, rec); err != nil {
		return err
	}
	start := l.now()
	if err := l.inner.Create(ctx, rec); err != nil {
		return err
	}
	l.wrote(rec, start, "lease created")
	return nil
}

// Update writes the Lease: a renewal, an acquisition or, with an empty
// holder, a release.
func (l *Lock) Update(ctx context.Context, rec resourcelock.LeaderElectionRecord) error {
	if err := l.refuseAcquire(ctx, rec); err != nil {
		return err
	}
	// client-go's release reads the Lease, then writes an empty holder if
	// its own (possibly stale) record says it leads: never release a Lease
	// the read just showed in another replica's hands.
	l.mu.Lock()
	other := ""
	if rec.HolderIdentity == "" && l.observed != nil && l.observed.HolderIdentity != l.identity {
		other = l.observed.HolderIdentity
	}
	l.mu.Unlock()
	if other != "" {
		return fmt.Errorf("not releasing the lease: it is held by %s", other)
	}
	if rec.HolderIdentity == "" {
		// Fence first: once the release is on the wire the server may apply
		// it and another replica take the Lease before the reply arrives.
		l.mu.Lock()
		// The elector releases after its renewal loop ends: asked to stop
		// (the last renewal is recent) or out of time to renew (it is not).
		l.noteStopLocked()
		l.releasing = true
		l.mu.Unlock()
	}
	start := l.now()
	if err := l.inner.Update(ctx, rec); err != nil {
		l.mu.Lock()
		leading := l.leading
		if leading {
			l.lastErr = err
		}
		l.mu.Unlock()
		if leading {
			l.log.Warn("renewing leader lease failed", "err", err)
		}
		return err
	}
	l.wrote(rec, start, "")
	return nil
}

// ErrDraining is returned instead of acquiring the Lease while draining.
var ErrDraining = errors.New("draining: not acquiring the lease")

// Drain makes this replica stop campaigning: it no longer acquires the
// Lease, though it keeps renewing one it holds until it releases it. A
// replica told to stop calls it first, so that of two replicas stopping
// together neither takes the Lease the other releases.
func (l *Lock) Drain() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.draining {
		l.draining = true
		l.log.Info("draining", "reason", "stopping: no longer campaigning for the lease", "leading", l.leading)
	}
}

// refuseAcquire refuses a write that would make this replica leader while
// it is draining or while MayAcquire objects.
func (l *Lock) refuseAcquire(ctx context.Context, rec resourcelock.LeaderElectionRecord) error {
	l.mu.Lock()
	acquiring := !l.leading && rec.HolderIdentity == l.identity
	draining, may := l.draining, l.mayAcquire
	l.mu.Unlock()
	if !acquiring {
		return nil
	}
	if draining {
		return ErrDraining
	}
	if may != nil {
		if err := may(ctx); err != nil {
			l.log.Info("not acquiring the lease", "reason", err.Error())
			return fmt.Errorf("not acquiring the lease: %w", err)
		}
	}
	return nil
}

// stoppedLeadingEvent is what client-go's elector records when its renewal
// loop has ended, asked to or not.
const stoppedLeadingEvent = "stopped leading"

// RecordEvent records an event on the Lease through the inner lock. The
// elector's "stopped leading" also tells whether it gave up on a Lease it
// could not renew (RenewalFailed).
func (l *Lock) RecordEvent(s string) {
	if s == stoppedLeadingEvent {
		l.mu.Lock()
		l.noteStopLocked()
		l.mu.Unlock()
	}
	l.inner.RecordEvent(s)
}

// noteStopLocked records, when the elector's renewal loop ends (its
// release, or its "stopped leading" event when there is none), whether it
// ended on a Lease this replica still believed it held but had not renewed
// within the renew deadline: a lost leadership, not a stop it was asked
// for, after which the last renewal is recent.
func (l *Lock) noteStopLocked() {
	if l.believesLeadingLocked() && !l.freshLocked() {
		l.renewalFailed = true
	}
}

// RenewalFailed reports whether the elector stopped leading because this
// replica could not renew the Lease within the renew deadline (or saw
// another holder): what makes controller-runtime's manager stop with an
// error, which the caller then reports as lost leadership.
func (l *Lock) RenewalFailed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.renewalFailed
}

// Identity returns this replica's identity.
func (l *Lock) Identity() string { return l.inner.Identity() }

// Describe names the Lease as namespace/name.
func (l *Lock) Describe() string { return l.inner.Describe() }

// Leading reports whether this replica holds the Lease, as of its last
// successful write.
func (l *Lock) Leading() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leading
}

// LostReason explains a lost leadership for the log line of the caller that
// sees the manager stop: who holds the Lease now, or the last failed
// renewal.
func (l *Lock) LostReason() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	const base = "could not renew the lease before the renew deadline"
	switch {
	case l.usurper != "":
		return "the lease was seen held by " + l.usurper + " while this replica led"
	case l.observed != nil && l.observed.HolderIdentity != "" && l.observed.HolderIdentity != l.identity:
		return base + "; it is now held by " + l.observed.HolderIdentity
	case l.lastErr != nil:
		return base + ": " + l.lastErr.Error()
	}
	return base
}

// takeover is an acquisition by the Watcher: the holder it took the Lease
// from and why it could.
type takeover struct {
	previous, reason string
}

// tookOnWatch records that the Watcher wrote this replica as the holder,
// taking the Lease from previous (empty: it had none) for reason; the
// "leadership acquired" line, logged when the elector first renews, gives
// them instead of the record the elector read (which already names this
// replica).
func (l *Lock) tookOnWatch(previous, reason string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.takeover = &takeover{previous: previous, reason: reason}
}

// forgetTakeover drops what tookOnWatch recorded when the watcher's write
// failed, unless this replica leads by now (the record was then used).
func (l *Lock) forgetTakeover() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.leading {
		l.takeover = nil
	}
}

// observe records a Lease read by Get and logs a new holder. A read that
// shows another holder (or none) while this replica leads ends its
// leadership at once: Fresh turns false and the watchdog stops the
// process, as for a lease not renewed in time.
func (l *Lock) observe(rec *resourcelock.LeaderElectionRecord) {
	l.mu.Lock()
	prev := l.observed
	l.observed = rec
	if rec.HolderIdentity != "" && rec.HolderIdentity != l.identity {
		l.lastHolder = rec.HolderIdentity
		// Whatever the watcher took was taken from it again. (A free
		// Lease is the watcher's write not yet applied.)
		l.takeover = nil
	}
	usurped := l.leading && !l.releasing && l.usurper == "" && rec.HolderIdentity != l.identity
	if usurped {
		l.usurper = rec.HolderIdentity
		if l.usurper == "" {
			l.usurper = "nobody (the lease was released or re-created)"
		}
	}
	l.mu.Unlock()
	if usurped {
		l.log.Error("lease taken while leading", "holder", rec.HolderIdentity,
			"reason", "a read of the lease shows another holder: it was deleted or re-created, or another process uses this identity; stopping before any further write")
	}
	if prev != nil && prev.HolderIdentity == rec.HolderIdentity {
		return
	}
	switch {
	case rec.HolderIdentity == "" && prev != nil:
		l.log.Info("leader observed", "holder", "", "previous", prev.HolderIdentity, "reason", "lease released")
	case rec.HolderIdentity == "":
		l.log.Info("leader observed", "holder", "", "reason", "lease has no holder")
	case prev == nil:
		l.log.Info("leader observed", "holder", rec.HolderIdentity, "reason", "first read of the lease")
	default:
		l.log.Info("leader observed", "holder", rec.HolderIdentity, "previous", prev.HolderIdentity, "reason", "lease changed hands")
	}
}

// wrote records a successful Create or Update by this replica, begun at
// start, and logs a change of its own leadership.
func (l *Lock) wrote(rec resourcelock.LeaderElectionRecord, start time.Time, reason string) {
	l.mu.Lock()
	prev := l.observed
	l.observed = &rec
	wasLeading := l.leading
	l.leading = rec.HolderIdentity == l.identity
	if l.leading {
		l.lastErr = nil
		l.renewedAt = start
	}
	nowLeading := l.leading
	took := l.takeover
	if nowLeading != wasLeading {
		l.takeover = nil
	}
	lastHolder := l.lastHolder
	l.mu.Unlock()

	switch {
	case nowLeading && !wasLeading:
		previous := holderOf(prev)
		switch {
		case reason != "":
		case took != nil:
			reason, previous = took.reason+"; taken on watch", took.previous
		default:
			reason, previous = l.acquireReason(prev, lastHolder)
		}
		l.metrics.Leader.Set(1)
		l.metrics.Transitions.Inc()
		l.log.Info("leadership acquired", "holder", l.identity, "previous", previous,
			"reason", reason, "transitions", rec.LeaderTransitions)
	case !nowLeading && wasLeading:
		l.metrics.Leader.Set(0)
		l.metrics.Transitions.Inc()
		l.log.Info("leadership released", "holder", rec.HolderIdentity, "reason", "shutting down: lease released for the next leader")
	}
}

// acquireReason says why this replica could take the Lease, and from
// whom, from the last record it had seen; a released Lease names
// lastHolder (see Lock.lastHolder) when it is known.
func (l *Lock) acquireReason(prev *resourcelock.LeaderElectionRecord, lastHolder string) (reason, previous string) {
	switch {
	case prev == nil:
		return "lease free", ""
	case prev.HolderIdentity == "" && prev.RenewTime.IsZero():
		return "lease never held", ""
	case prev.HolderIdentity == "" && lastHolder != "":
		return "lease released by " + lastHolder, lastHolder
	case prev.HolderIdentity == "":
		return "lease released by the previous holder", ""
	case prev.HolderIdentity == l.identity:
		return "lease still held by this identity", prev.HolderIdentity
	default:
		expiry := prev.RenewTime.Add(time.Duration(prev.LeaseDurationSeconds) * time.Second)
		return fmt.Sprintf("lease of %s expired (last renewed %s, expired %s ago)",
			prev.HolderIdentity, prev.RenewTime.UTC().Format(time.RFC3339), l.now().Sub(expiry).Round(time.Millisecond)), prev.HolderIdentity
	}
}

// sawHolder records holder as the Lease's last other holder seen (see
// lastHolder); the Watcher calls it for every holder its watch shows.
func (l *Lock) sawHolder(holder string) {
	if holder == "" || holder == l.identity {
		return
	}
	l.mu.Lock()
	l.lastHolder = holder
	l.mu.Unlock()
}

// holderOf returns the holder of rec, or "" for nil.
func holderOf(rec *resourcelock.LeaderElectionRecord) string {
	if rec == nil {
		return ""
	}
	return rec.HolderIdentity
}

// Lost marks leadership as lost (the manager stopped because renewing
// failed) and logs it with LostReason. The caller exits the process right
// after.
func (l *Lock) Lost() { l.LostBecause(l.LostReason()) }

// LostBecause marks leadership as lost and logs reason.
func (l *Lock) LostBecause(reason string) {
	l.mu.Lock()
	was := l.leading
	l.leading = false
	l.mu.Unlock()
	if was {
		l.metrics.Leader.Set(0)
		l.metrics.Transitions.Inc()
	}
	l.log.Error("leadership lost", "holder", l.identity, "reason", reason)
}
