package podrunner

import (
	"slices"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/primus-dev/primus/internal/platform/leader"
)

// LeaderChange is one change of the Lease's holder, as the Runner's watch
// saw it.
type LeaderChange struct {
	// Time is when the Runner saw the change.
	Time time.Time
	// From and To are the previous and new holders; "" means no holder (a
	// released or deleted Lease).
	From, To string
	// Transitions is the Lease's spec.leaseTransitions after the change.
	Transitions int32
}

// leaseLog is the holder history of one Lease. Guarded by Runner.mu.
type leaseLog struct {
	name    string
	seen    bool
	holder  string
	changes []LeaderChange
}

// record notes the holder of the Lease as of now.
func (l *leaseLog) record(now time.Time, holder string, transitions int32) (LeaderChange, bool) {
	if holder == l.holder && (l.seen || holder == "") {
		l.seen = true
		return LeaderChange{}, false
	}
	l.seen = true
	c := LeaderChange{Time: now, From: l.holder, To: holder, Transitions: transitions}
	l.holder = holder
	l.changes = append(l.changes, c)
	return c, true
}

// observeLease records the holder of the watched Lease.
func (r *Runner) observeLease(obj any, deleted bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	lease, ok := obj.(*coordinationv1.Lease)
	if !ok || lease.Name != r.opts.Lease {
		return
	}
	var holder string
	var transitions int32
	if !deleted && lease.Spec.HolderIdentity != nil {
		holder = *lease.Spec.HolderIdentity
	}
	if lease.Spec.LeaseTransitions != nil {
		transitions = *lease.Spec.LeaseTransitions
	}
	r.mu.Lock()
	c, changed := r.lease.record(time.Now(), holder, transitions)
	r.mu.Unlock()
	if changed {
		r.log.Info("lease holder changed", "lease", r.opts.Lease, "holder", c.To, "previous", c.From, "transitions", c.Transitions)
	}
}

// LeaseHolder returns the Pod of the Lease's holder as last seen
// (leader.HolderPod of the identity), "" for none.
func (r *Runner) LeaseHolder() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return leader.HolderPod(r.lease.holder)
}

// LeaderChanges returns every holder change seen so far, oldest first.
func (r *Runner) LeaderChanges() []LeaderChange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lease.changes)
}

// Moves counts the times leadership moved from one holder to another at
// or after since. A release followed by a new holder is one move; a
// release the same holder takes back, or the first election, is none.
func (r *Runner) Moves(since time.Time) int {
	return Moves(r.LeaderChanges(), since)
}

// Moves counts the moves in changes at or after since (see Runner.Moves).
func Moves(changes []LeaderChange, since time.Time) int {
	return len(MovedFrom(changes, since))
}

// MovedFrom returns the Pod each move in changes at or after since left,
// in order (see Runner.Moves for what counts as a move).
func MovedFrom(changes []LeaderChange, since time.Time) []string {
	var from []string
	prev := ""
	for _, c := range changes {
		if c.To == "" {
			continue
		}
		if prev != "" && c.To != prev && !c.Time.Before(since) {
			from = append(from, leader.HolderPod(prev))
		}
		prev = c.To
	}
	return from
}
