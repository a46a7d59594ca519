package podrunner

import (
	"context"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Starter starts the process of one Pod. The Runner owns what it returns:
// it signals the process and waits for it, and never calls Start twice at
// once for the same Pod.
type Starter interface {
	// Start starts the container of pod as a local process and returns
	// without waiting for it to be ready. ctx bounds the start only, never
	// the life of the process.
	Start(ctx context.Context, pod *corev1.Pod) (Process, error)
}

// StarterFunc adapts a function to Starter.
type StarterFunc func(ctx context.Context, pod *corev1.Pod) (Process, error)

// Start calls f.
func (f StarterFunc) Start(ctx context.Context, pod *corev1.Pod) (Process, error) { return f(ctx, pod) }

// Process is one running container.
type Process interface {
	// Signal sends sig (syscall.SIGTERM, syscall.SIGKILL) to the process.
	Signal(sig os.Signal) error
	// Done is closed when the process has exited.
	Done() <-chan struct{}
	// Ready reports whether the process answers its readiness probe.
	Ready(ctx context.Context) bool
	// Leading reports whether the process says it holds the leader Lease.
	Leading(ctx context.Context) (bool, error)
}

// Phase is where a Pod's process is in its life.
type Phase string

// The phases of an Instance.
const (
	// PhaseStarting: the process is being started, or restarted after it
	// exited.
	PhaseStarting Phase = "Starting"
	// PhaseRunning: the process runs and its Pod lives.
	PhaseRunning Phase = "Running"
	// PhaseStopping: the Pod is going; the process is in its preStop sleep
	// or its graceful stop.
	PhaseStopping Phase = "Stopping"
	// PhaseExited: the process of a gone Pod has exited.
	PhaseExited Phase = "Exited"
)

// Instance is a snapshot of one Pod's process.
type Instance struct {
	// Pod, UID and Node name the Pod.
	Pod  string
	UID  types.UID
	Node string
	// Phase is where the process is.
	Phase Phase
	// Process is the current process; nil before the first start.
	Process Process
	// Processes are every process the Pod ran, oldest first, Process
	// last: a container restarted in place runs several under one Pod.
	Processes []Process
	// Started is when the current process was started.
	Started time.Time
	// Ready is the last answer of the process's readiness probe, which the
	// Runner asks every Options.ProbePeriod, as the kubelet does.
	Ready bool
	// ReadySince is when Ready last became true.
	ReadySince time.Time
	// StopRequested is when the Pod was seen deleted; zero while it lives.
	StopRequested time.Time
	// Exited is when the Runner saw the process of a gone Pod exit; zero
	// until then.
	Exited time.Time
	// Restarts counts processes that exited while their Pod lived.
	Restarts int
}

// Serving reports whether the process is ready and its Pod is not going:
// it answers, and nobody is taking it away.
func (i Instance) Serving() bool {
	return i.Phase == PhaseRunning && i.Ready
}
