package failover

import (
	"context"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/primus-dev/primus/internal/hacheck/podrunner"
	"github.com/primus-dev/primus/internal/hacheck/replica"
)

// PodFleet is the Fleet of an installed release whose Pods a podrunner
// runs (hacheck verify --failover on the embedded cluster). A crash kills
// the leader's process (kill -9) and the runner restarts its container in
// place, as the kubelet would; a graceful round deletes the leader's Pod,
// so the runner sends SIGTERM as the kubelet does and the ReplicaSet
// creates a replacement Pod. A pause is not a Pod's fate: PodFleet refuses
// it.
type PodFleet struct {
	runner    *podrunner.Runner
	kube      kubernetes.Interface
	namespace string
	size      int

	mu     sync.Mutex
	before map[*replica.Replica]bool // live when the leader went down
}

// NewPodFleet returns the Fleet of the size replicas runner runs for the
// Pods of a release in namespace; kube deletes Pods.
func NewPodFleet(runner *podrunner.Runner, kube kubernetes.Interface, namespace string, size int) *PodFleet {
	return &PodFleet{runner: runner, kube: kube, namespace: namespace, size: size}
}

// Live returns the processes of Running Pods that serve.
func (f *PodFleet) Live() []*replica.Replica {
	var out []*replica.Replica
	for _, i := range f.runner.Instances() {
		if rp, ok := i.Process.(*podrunner.ReplicaProcess); ok && i.Phase == podrunner.PhaseRunning && rp.Live() {
			out = append(out, rp.Replica)
		}
	}
	return out
}

// All returns every process the runner started, of every Pod, live or not.
func (f *PodFleet) All() []*replica.Replica {
	var out []*replica.Replica
	for _, i := range f.runner.Instances() {
		for _, p := range i.Processes {
			if rp, ok := p.(*podrunner.ReplicaProcess); ok {
				out = append(out, rp.Replica)
			}
		}
	}
	return out
}

// Size is the Deployment's replicas.
func (f *PodFleet) Size() int { return f.size }

// SignalName says what TakeDown does by mode.
func (f *PodFleet) SignalName(mode Mode) string {
	if mode == Graceful {
		return "delete the Pod of"
	}
	return signalNames[mode]
}

// TakeDown kills the leader's process (Crash) or deletes its Pod
// (Graceful: the runner sends SIGTERM when it sees the deletion) and
// returns when the process got its signal.
func (f *PodFleet) TakeDown(ctx context.Context, leader *replica.Replica, mode Mode) (time.Time, error) {
	before := map[*replica.Replica]bool{}
	for _, r := range f.Live() {
		before[r] = true
	}
	f.mu.Lock()
	f.before = before
	f.mu.Unlock()
	switch mode {
	case Crash:
		return leader.Kill()
	case Graceful:
		if err := f.kube.CoreV1().Pods(f.namespace).Delete(ctx, leader.Name, metav1.DeleteOptions{}); err != nil {
			return time.Time{}, fmt.Errorf("delete Pod %s/%s: %w", f.namespace, leader.Name, err)
		}
		// The round runs from the SIGTERM, as for Start's replicas: the
		// Pod's deletion reaches the runner through its watch first.
		err := wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, sigtermTimeout, true, func(context.Context) (bool, error) {
			return !leader.DownAt().IsZero(), nil
		})
		if err != nil {
			return time.Time{}, fmt.Errorf("pod %s/%s deleted, but its process got no SIGTERM within %s: %w", f.namespace, leader.Name, sigtermTimeout, err)
		}
		return leader.DownAt(), nil
	}
	return time.Time{}, fmt.Errorf("mode %s: a Pod's process is only killed or its Pod deleted (crash, graceful)", mode)
}

// sigtermTimeout bounds the wait for the runner's SIGTERM after a Pod's
// deletion: the chart's Pods have no preStop sleep.
const sigtermTimeout = 30 * time.Second

// restoreTimeout bounds the wait for the replacement Pods' processes.
const restoreTimeout = 2 * time.Minute

// Restore waits until Size processes serve again (the runner restarts a
// killed container; the ReplicaSet replaces a deleted Pod) and returns the
// ones that did not serve when the leader went down: a Pod's name, with
// " (restarted)" for a container restarted in place.
func (f *PodFleet) Restore(ctx context.Context) ([]string, bool, error) {
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, restoreTimeout, true, func(context.Context) (bool, error) {
		return len(f.Live()) >= f.size, nil
	})
	f.mu.Lock()
	before := f.before
	f.mu.Unlock()
	pods := map[string]bool{}
	for r := range before {
		pods[r.Name] = true
	}
	var started []string
	for _, r := range f.Live() {
		switch {
		case before[r]:
		case pods[r.Name]:
			started = append(started, r.Name+" (restarted)")
		default:
			started = append(started, r.Name)
		}
	}
	if err != nil {
		return started, false, ctx.Err()
	}
	return started, true, nil
}
