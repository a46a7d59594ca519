package leader

import (
	"context"
	"errors"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ErrStaleLease is returned instead of a write when this replica's last
// renewal of the Lease began longer ago than the renew deadline: another
// replica may lead by now (the process was paused, or the API server was
// unreachable), so the leader's controllers must not write.
var ErrStaleLease = errors.New("leader lease not renewed within the renew deadline: refusing to write")

// Fresh reports whether this replica leads and its last successful renewal
// began less than the renew deadline ago. Other replicas take the Lease only
// a full lease duration after they saw that renewal, and the renew deadline
// is shorter than the lease duration, so while Fresh is true no other
// replica can lead (clock rates being equal within that margin).
func (l *Lock) Fresh() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leading && l.renewDeadline > 0 && l.now().Sub(l.renewedAt) < l.renewDeadline
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
func Fence(c client.Client, lock *Lock, onStale func()) client.Client {
	return &fencedClient{Client: c, f: fence{lock: lock, onStale: onStale}}
}

// fence checks freshness before a write.
type fence struct {
	lock    *Lock
	onStale func()
}

func (f fence) check() error {
	if f.lock.Fresh() {
		return nil
	}
	if f.onStale != nil {
		f.onStale()
	}
	return ErrStaleLease
}

type fencedClient struct {
	client.Client
	f fence
}

func (c *fencedClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	if err := c.f.check(); err != nil {
		return err
	}
	return c.Client.Create(ctx, obj, opts...)
}

func (c *fencedClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	if err := c.f.check(); err != nil {
		return err
	}
	return c.Client.Update(ctx, obj, opts...)
}

func (c *fencedClient) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	if err := c.f.check(); err != nil {
		return err
	}
	return c.Client.Patch(ctx, obj, patch, opts...)
}

func (c *fencedClient) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	if err := c.f.check(); err != nil {
		return err
	}
	return c.Client.Delete(ctx, obj, opts...)
}

func (c *fencedClient) DeleteAllOf(ctx context.Context, obj client.Object, opts ...client.DeleteAllOfOption) error {
	if err := c.f.check(); err != nil {
		return err
	}
	return c.Client.DeleteAllOf(ctx, obj, opts...)
}

func (c *fencedClient) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	if err := c.f.check(); err != nil {
		return err
	}
	return c.Client.Apply(ctx, obj, opts...)
}

func (c *fencedClient) Status() client.SubResourceWriter {
	return &fencedWriter{SubResourceWriter: c.Client.Status(), f: c.f}
}

func (c *fencedClient) SubResource(name string) client.SubResourceClient {
	inner := c.Client.SubResource(name)
	return &fencedSubResource{SubResourceClient: inner, w: &fencedWriter{SubResourceWriter: inner, f: c.f}}
}

type fencedWriter struct {
	client.SubResourceWriter
	f fence
}

func (w *fencedWriter) Create(ctx context.Context, obj client.Object, sub client.Object, opts ...client.SubResourceCreateOption) error {
	if err := w.f.check(); err != nil {
		return err
	}
	return w.SubResourceWriter.Create(ctx, obj, sub, opts...)
}

func (w *fencedWriter) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	if err := w.f.check(); err != nil {
		return err
	}
	return w.SubResourceWriter.Update(ctx, obj, opts...)
}

func (w *fencedWriter) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	if err := w.f.check(); err != nil {
		return err
	}
	return w.SubResourceWriter.Patch(ctx, obj, patch, opts...)
}

func (w *fencedWriter) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.SubResourceApplyOption) error {
	if err := w.f.check(); err != nil {
		return err
	}
	return w.SubResourceWriter.Apply(ctx, obj, opts...)
}

type fencedSubResource struct {
	client.SubResourceClient
	w *fencedWriter
}

func (s *fencedSubResource) Create(ctx context.Context, obj client.Object, sub client.Object, opts ...client.SubResourceCreateOption) error {
	return s.w.Create(ctx, obj, sub, opts...)
}

func (s *fencedSubResource) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	return s.w.Update(ctx, obj, opts...)
}

func (s *fencedSubResource) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	return s.w.Patch(ctx, obj, patch, opts...)
}

func (s *fencedSubResource) Apply(ctx context.Context, obj runtime.ApplyConfiguration, opts ...client.SubResourceApplyOption) error {
	return s.w.Apply(ctx, obj, opts...)
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
			if !w.Lock.Fresh() && w.Lock.Leading() {
				w.OnStale()
				return nil
			}
		}
	}
}
