package replica

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/primus-dev/primus/internal/platform/leader"
)

// Set is a group of replicas sharing one Config, named prefix-0,
// prefix-1, ... in start order: a replacement for a stopped replica gets
// the next name, as a new Pod gets a new name. Close stops them all.
type Set struct {
	cfg    Config
	prefix string

	mu   sync.Mutex
	all  []*Replica
	next int
}

// NewSet returns an empty Set.
func NewSet(cfg Config, prefix string) *Set {
	return &Set{cfg: cfg, prefix: prefix}
}

// Config returns the Set's Config.
func (s *Set) Config() Config { return s.cfg }

// Add starts one more replica.
func (s *Set) Add(ctx context.Context) (*Replica, error) {
	s.mu.Lock()
	name := fmt.Sprintf("%s-%d", s.prefix, s.next)
	s.next++
	s.mu.Unlock()
	r, err := Start(ctx, s.cfg, name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.all = append(s.all, r)
	s.mu.Unlock()
	return r, nil
}

// Grow starts n more replicas and waits until they are Ready.
func (s *Set) Grow(ctx context.Context, n int, timeout time.Duration) ([]*Replica, error) {
	var added []*Replica
	for range n {
		r, err := s.Add(ctx)
		if err != nil {
			return added, err
		}
		added = append(added, r)
	}
	return added, WaitReady(ctx, added, timeout)
}

// All returns every replica started, live or not, in start order.
func (s *Set) All() []*Replica {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.all)
}

// Live returns the replicas that run and were not signalled down.
func (s *Set) Live() []*Replica {
	return slices.DeleteFunc(s.All(), func(r *Replica) bool { return !r.Live() })
}

// ByName returns the replica called name, or nil.
func (s *Set) ByName(name string) *Replica {
	for _, r := range s.All() {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// Close kills every replica and waits for them.
func (s *Set) Close(ctx context.Context) error {
	var errs []error
	for _, r := range s.All() {
		errs = append(errs, r.Close(ctx))
	}
	return errors.Join(errs...)
}

// WaitReady waits until every replica of rs answers /readyz, failing fast
// when one exits.
func WaitReady(ctx context.Context, rs []*Replica, timeout time.Duration) error {
	for _, r := range rs {
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
			if r.Exited() {
				return false, fmt.Errorf("%s exited with code %d:\n%s", r.Name, r.ExitCode(), r.Tail(20))
			}
			return r.Ready(ctx), nil
		})
		if err != nil {
			return fmt.Errorf("%s never became ready: %w", r.Name, err)
		}
	}
	return nil
}

// SingleLeader checks, once, that every replica of rs that still runs
// names the same live holder of the Lease through its API, that the holder
// is one of them, and that their primus_leader gauges sum to 1. It returns
// the holder, or an error saying what does not hold yet.
func SingleLeader(ctx context.Context, rs []*Replica, token string) (*Replica, error) {
	rs = slices.DeleteFunc(slices.Clone(rs), (*Replica).Exited)
	if len(rs) == 0 {
		return nil, errors.New("no replica runs")
	}
	var holder *Replica
	var sum float64
	for _, r := range rs {
		st, err := r.Leader(ctx, token)
		if err != nil {
			return nil, err
		}
		if st.Expired || st.Holder == "" {
			return nil, fmt.Errorf("%s sees no live holder (holder %q, expired %v)", r.Name, st.Holder, st.Expired)
		}
		i := slices.IndexFunc(rs, func(c *Replica) bool { return c.Name == leader.HolderPod(st.Holder) })
		if i < 0 || (holder != nil && holder != rs[i]) {
			return nil, fmt.Errorf("%s sees holder %q", r.Name, st.Holder)
		}
		holder = rs[i]
		g, err := r.LeaderGauge(ctx)
		if err != nil {
			return nil, err
		}
		sum += g
	}
	if sum != 1 {
		return nil, fmt.Errorf("primus_leader sums to %v across %d replicas", sum, len(rs))
	}
	return holder, nil
}

// WaitSingleLeader polls SingleLeader until it holds or timeout passes.
func WaitSingleLeader(ctx context.Context, rs []*Replica, token string, timeout time.Duration) (*Replica, error) {
	var holder *Replica
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		holder, last = SingleLeader(ctx, rs, token)
		return last == nil, nil
	})
	if err != nil {
		return nil, fmt.Errorf("no single leader among %d replicas after %s: %v", len(rs), timeout, last)
	}
	return holder, nil
}
