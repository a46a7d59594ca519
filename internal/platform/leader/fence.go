package leader

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

// ErrStaleLease is returned instead of a write when this replica's last
// renewal of the Lease began longer ago than the renew deadline: another
// replica may lead by now (the process was paused, or the API server was
// unreachable), so the leader's controllers must not write.
var ErrStaleLease = errors.New("leader lease not renewed within the renew deadline: refusing to write")

// ErrNotLeading is returned instead of a write by a replica that no
// longer leads because it released the Lease (a clean stop): not a lost
// lease, so no stale hook runs.
var ErrNotLeading = errors.New("not leading: the lease was released; refusing to write")

// Fresh reports whether this replica leads, has not begun releasing the
// Lease, has not seen another holder since it last renewed, and its last
// successful renewal began less than the renew deadline ago. Other
// replicas take the Lease only a full lease duration after they saw that
// renewal, and the renew deadline is shorter than the lease duration, so
// while Fresh is true no other replica can lead (clock rates being equal
// within that margin).
func (l *Lock) Fresh() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.freshLocked()
}

func (l *Lock) freshLocked() bool {
	return l.leading && !l.releasing && l.usurper == "" &&
		l.renewDeadline > 0 && l.now().Sub(l.renewedAt) < l.renewDeadline
}

// believesLeadingLocked: this replica thinks it holds the Lease and has
// not begun to release it. Only such a replica is stale when not Fresh.
func (l *Lock) believesLeadingLocked() bool { return l.leading && !l.releasing }

// WriteDeadline is the latest a fenced write may still be under way: the
// last renewal's start plus the lease duration, less half the margin
// (leaseDuration - renewDeadline). A write that passed the fence just
// inside the renew deadline has half the margin to complete; the other
// half covers a request the server applies after the client gave up, and
// clock rate differences. The zero time means no renewal is known.
func (l *Lock) WriteDeadline() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writeDeadlineLocked()
}

func (l *Lock) writeDeadlineLocked() time.Time {
	if l.renewedAt.IsZero() {
		return time.Time{}
	}
	if l.leaseDuration <= l.renewDeadline {
		return l.renewedAt.Add(l.renewDeadline)
	}
	return l.renewedAt.Add(l.leaseDuration - (l.leaseDuration-l.renewDeadline)/2)
}

// StaleReason says why a replica that believes it leads must stop, for
// the "leadership lost" line.
func (l *Lock) StaleReason() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.usurper != "" {
		return "the lease was seen held by " + l.usurper + " while this replica led; another replica may lead; stopping before any further write"
	}
	return fmt.Sprintf("lease not renewed within the renew deadline: the last renewal began %s ago (deadline %s); the process was paused or the API server was unreachable, and another replica may hold it; stopping before any further write",
		l.now().Sub(l.renewedAt).Round(time.Millisecond), l.renewDeadline)
}

// Staleness returns how long ago the last renewal began, for log lines.
func (l *Lock) Staleness() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.now().Sub(l.renewedAt).Round(time.Millisecond)
}

// Fence returns c with every write (create, update, patch, delete, apply,
// and their status and subresource forms) refused with ErrStaleLease unless
// lock.Fresh(); onStale is called (once per refused write) so the caller can
// stop the process. Reads pass through. Wrap the leader-only controllers'
// client with it: a replica resumed after a pause writes nothing as leader.
// It is controller-runtime's client interceptor with a fence on each write.
func Fence(c client.Client, lock *Lock, onStale func()) client.Client {
	f := fence{lock: lock, onStale: onStale}
	inner, ok := c.(client.WithWatch)
	if !ok {
		inner = withoutWatch{c}
	}
	return interceptor.NewClient(inner, interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			return f.write(ctx, func(ctx context.Context) error { return c.Create(ctx, obj, opts...) })
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			return f.write(ctx, func(ctx context.Context) error { return c.Update(ctx, obj, opts...) })
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			return f.write(ctx, func(ctx context.Context) error { return c.Patch(ctx, obj, patch, opts...) })
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			return f.write(ctx, func(ctx context.Context) error { return c.Delete(ctx, obj, opts...) })
		},
		DeleteAllOf: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteAllOfOption) error {
			return f.write(ctx, func(ctx context.Context) error { return c.DeleteAllOf(ctx, obj, opts...) })
		},
		Apply: func(ctx context.Context, c client.WithWatch, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
			return f.write(ctx, func(ctx context.Context) error { return c.Apply(ctx, obj, opts...) })
		},
		SubResourceCreate: func(ctx context.Context, c client.Client, sub string, obj, subObj client.Object, opts ...client.SubResourceCreateOption) error {
			return f.write(ctx, func(ctx context.Context) error { return c.SubResource(sub).Create(ctx, obj, subObj, opts...) })
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			return f.write(ctx, func(ctx context.Context) error { return c.SubResource(sub).Update(ctx, obj, opts...) })
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			return f.write(ctx, func(ctx context.Context) error { return c.SubResource(sub).Patch(ctx, obj, patch, opts...) })
		},
		SubResourceApply: func(ctx context.Context, c client.Client, sub string, obj runtime.ApplyConfiguration, opts ...client.SubResourceApplyOption) error {
			return f.write(ctx, func(ctx context.Context) error { return c.SubResource(sub).Apply(ctx, obj, opts...) })
		},
	})
}

// withoutWatch lets a client.Client be intercepted (the interceptor wraps
// a client.WithWatch); the fenced controllers watch through the manager's
// cache, never through this client.
type withoutWatch struct{ client.Client }

// Watch refuses: the client it wraps cannot watch.
func (withoutWatch) Watch(context.Context, client.ObjectList, ...client.ListOption) (watch.Interface, error) {
	return nil, errors.New("the fenced client does not watch: use the manager's cache")
}

// fence checks freshness before a write.
type fence struct {
	lock    *Lock
	onStale func()
}

// write runs do, a write, if the fence admits it (see enter).
func (f fence) write(ctx context.Context, do func(context.Context) error) error {
	ctx, cancel, err := f.enter(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	return do(ctx)
}

// enter admits a write while the lock is Fresh, with ctx bounded by the
// lock's WriteDeadline. A refused write of a replica that still believes
// it leads calls onStale; after a release (a clean stop) it does not.
func (f fence) enter(ctx context.Context) (context.Context, context.CancelFunc, error) {
	l := f.lock
	l.mu.Lock()
	fresh, believes, deadline := l.freshLocked(), l.believesLeadingLocked(), l.writeDeadlineLocked()
	l.mu.Unlock()
	switch {
	case fresh:
		ctx, cancel := context.WithDeadline(ctx, deadline)
		return ctx, cancel, nil
	case believes:
		if f.onStale != nil {
			f.onStale()
		}
		return ctx, nil, ErrStaleLease
	default:
		return ctx, nil, ErrNotLeading
	}
}

// Watchdog is a leader-only runnable that notices a stale lease even when
// no controller writes: every interval it checks Fresh and, once it is
// false, calls OnStale and returns. Without it a paused-then-resumed leader
// would believe it leads until client-go's renew loop gives up.
type Watchdog struct {
	Lock     *Lock
	Interval time.Duration
	OnStale  func()
}

// NeedLeaderElection makes the watchdog run only while leading.
func (w *Watchdog) NeedLeaderElection() bool { return true }

// Start checks freshness until ctx ends or the lease goes stale.
func (w *Watchdog) Start(ctx context.Context) error {
	interval := w.Interval
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			w.Lock.mu.Lock()
			stale := !w.Lock.freshLocked() && w.Lock.believesLeadingLocked()
			w.Lock.mu.Unlock()
			if stale {
				w.OnStale()
				return nil
			}
		}
	}
}
