package failover

import (
	"context"
	"fmt"
	"time"

	"github.com/primus-dev/primus/internal/hacheck/replica"
)

// Fleet is the replica processes a round takes the leader of down: the
// three local processes Start runs (a replica.Set), or the processes a
// podrunner runs for the Pods of an installed release (PodFleet, for
// hacheck verify --failover). A round measures the same way on both; only
// how the leader goes down and how the fleet gets back to full strength
// differ.
type Fleet interface {
	// Live returns the replicas that serve now: they have been Ready, run,
	// and were not signalled down.
	Live() []*replica.Replica
	// All returns every replica process started so far, live or not, in
	// start order: the round reads their logs.
	All() []*replica.Replica
	// Size is how many replicas the fleet runs when at full strength.
	Size() int
	// SignalName says, for progress lines, how TakeDown takes a leader
	// down by mode: "kill -9", "SIGTERM", "delete the Pod of".
	SignalName(mode Mode) string
	// TakeDown takes leader down by mode and returns when it did (the
	// signal, or the request that leads to it).
	TakeDown(ctx context.Context, leader *replica.Replica, mode Mode) (time.Time, error)
	// Restore brings the fleet back to Size live replicas (starting the
	// replacements itself, or waiting for whoever starts them) and returns
	// the names of the replicas started since the leader went down.
	// restored is false when they did not all get Ready; an error means the
	// fleet itself failed.
	Restore(ctx context.Context) (started []string, restored bool, err error)
}

// setFleet is the Fleet of Start: a replica.Set of local processes, a
// replacement started by hand for each one that went down, as the
// Deployment would.
type setFleet struct {
	set  *replica.Set
	size int
}

func (f *setFleet) Live() []*replica.Replica { return f.set.Live() }
func (f *setFleet) All() []*replica.Replica  { return f.set.All() }
func (f *setFleet) Size() int                { return f.size }

// SignalName names the signal of mode.
func (f *setFleet) SignalName(mode Mode) string { return signalNames[mode] }

// signalNames name each mode's signal.
var signalNames = map[Mode]string{Crash: "kill -9", Graceful: "SIGTERM", Pause: "SIGSTOP"}

// TakeDown signals the leader's process.
func (f *setFleet) TakeDown(_ context.Context, leader *replica.Replica, mode Mode) (time.Time, error) {
	return signal(leader, mode)
}

// Restore starts replicas until Size run again (the one taken down, and
// any other that exited during the round).
func (f *setFleet) Restore(ctx context.Context) ([]string, bool, error) {
	var started []string
	for len(f.set.Live()) < f.size {
		replacement, err := f.set.Add(ctx)
		if err != nil {
			return started, false, err
		}
		started = append(started, replacement.Name)
		if replica.WaitReady(ctx, []*replica.Replica{replacement}, 2*time.Minute) != nil {
			return started, false, ctx.Err()
		}
	}
	return started, true, nil
}

// signal sends the leader the signal of mode and returns when.
func signal(leader *replica.Replica, mode Mode) (time.Time, error) {
	switch mode {
	case Crash:
		return leader.Kill()
	case Graceful:
		return leader.Terminate()
	case Pause:
		return leader.Pause()
	}
	return time.Time{}, fmt.Errorf("unknown mode %q", mode)
}
