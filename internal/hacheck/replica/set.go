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
// answers an authenticated list of Projects through its API (with token;
// a replica whose API is off is not asked) and that exactly one of them
// reports leading through its primus_leader gauge, the others 0. It returns that one, or an error saying what does
// not hold yet. The gauge is set when the elector starts leading (after it
// took the Lease) and cleared when it stops, so it names the replica whose
// controllers run.
func SingleLeader(ctx context.Context, rs []*Replica, token string) (*Replica, error) {
	rs = slices.DeleteFunc(slices.Clone(rs), (*Replica).Exited)
	if len(rs) == 0 {
		return nil, errors.New("no replica runs")
	}
	var leading []*Replica
	for _, r := range rs {
		if r.API != "" { // --api-bind-address=0: only the gauge can be asked
			if err := r.ServesAPI(ctx, token); err != nil {
				return nil, err
			}
		}
		g, err := r.LeaderGauge(ctx)
		if err != nil {
			return nil, err
		}
		switch g {
		case 1:
			leading = append(leading, r)
		case 0:
		default:
			return nil, fmt.Errorf("%s: primus_leader is %v, not 0 or 1", r.Name, g)
		}
	}
	if len(leading) != 1 {
		names := make([]string, len(leading))
		for i, r := range leading {
			names[i] = r.Name
		}
		return nil, fmt.Errorf("%d of %d replicas report primus_leader 1 %v", len(leading), len(rs), names)
	}
	return leading[0], nil
}

// SingleLeaderOf is SingleLeader, and also checks, through lease (the
// Lease the replicas elect on, read as every replica reads it), that the
// Lease has a live holder and that it is the leader's Pod
// (leader.HolderPod): the one that reports leading is the one the Lease
// names, not a leader that lost the Lease and has not noticed yet.
func SingleLeaderOf(ctx context.Context, rs []*Replica, token string, lease *leader.Reader) (*Replica, error) {
	holder, err := SingleLeader(ctx, rs, token)
	if err != nil || lease == nil {
		return holder, err
	}
	st, err := lease.Leader(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case st.Holder == "" || st.Expired:
		return nil, fmt.Errorf("%s reports leading, but Lease %s has no live holder (holder %q, expired %v)", holder.Name, st.Lease, st.Holder, st.Expired)
	case st.HolderPod != holder.Name:
		return nil, fmt.Errorf("%s reports leading, but Lease %s names %s", holder.Name, st.Lease, st.HolderPod)
	}
	return holder, nil
}

// WaitSingleLeader polls SingleLeader until it holds or timeout passes.
func WaitSingleLeader(ctx context.Context, rs []*Replica, token string, timeout time.Duration) (*Replica, error) {
	return WaitSingleLeaderOf(ctx, rs, token, nil, timeout)
}

// WaitSingleLeaderOf polls SingleLeaderOf until it holds or timeout
// passes; a nil lease skips the Lease's check.
func WaitSingleLeaderOf(ctx context.Context, rs []*Replica, token string, lease *leader.Reader, timeout time.Duration) (*Replica, error) {
	var holder *Replica
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		holder, last = SingleLeaderOf(ctx, rs, token, lease)
		return last == nil, nil
	})
	if err != nil {
		return nil, fmt.Errorf("no single leader among %d replicas after %s: %v", len(rs), timeout, last)
	}
	return holder, nil
}
