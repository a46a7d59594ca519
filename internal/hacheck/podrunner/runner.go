package podrunner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Options configures a Runner.
type Options struct {
	// Kube watches the Pods and the Lease; it needs list and watch on both
	// in Namespace (an admin client, not the release's).
	Kube kubernetes.Interface
	// Namespace holds the Pods and the Lease.
	Namespace string
	// Selector is the label selector of the release's Pods, as kubectl
	// takes it: "app.kubernetes.io/instance=primus".
	Selector string
	// Lease names the leader Lease in Namespace whose holders the Runner
	// logs. Empty: no Lease is watched.
	Lease string
	// Starter starts a Pod's process.
	Starter Starter
	// ProbePeriod is how often each process's readiness is asked. Default
	// 200 ms.
	ProbePeriod time.Duration
	// RestartDelay is the wait before a process that exited while its Pod
	// lives is started again. Default 1 s.
	RestartDelay time.Duration
	// SetPodStatus makes the Runner write each Pod's Ready and
	// ContainersReady conditions and its container's status (ready,
	// started, restartCount, state) from its process, as the kubelet does:
	// Ready follows the process's readiness probe, a process that exits
	// makes the Pod unready and counts a restart. It is for clusters where
	// nothing else does (cluster.ReadyByRunner); Kube then needs patch on
	// pods/status.
	SetPodStatus bool
	// Log receives one line per process start, stop and exit and per Lease
	// holder change. Nil discards.
	Log *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	switch {
	case o.Kube == nil:
		return o, errors.New("podrunner: Options.Kube is required")
	case o.Namespace == "":
		return o, errors.New("podrunner: Options.Namespace is required")
	case o.Starter == nil:
		return o, errors.New("podrunner: Options.Starter is required")
	}
	if _, err := labels.Parse(o.Selector); err != nil {
		return o, fmt.Errorf("podrunner: selector %q: %w", o.Selector, err)
	}
	if o.ProbePeriod <= 0 {
		o.ProbePeriod = 200 * time.Millisecond
	}
	if o.RestartDelay <= 0 {
		o.RestartDelay = time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// Runner runs one process per Running Pod of a release. Start it with
// Start, stop it and every process with Close. Its methods are safe for
// concurrent use.
type Runner struct {
	opts   Options
	log    *slog.Logger
	ctx    context.Context // canceled by Close: stops every process
	cancel context.CancelFunc
	kill   chan struct{} // closed when Close gives up waiting: SIGKILL now
	wg     sync.WaitGroup

	mu      sync.Mutex
	entries map[types.UID]*entry
	closed  bool
	lease   leaseLog
	census  census
}

// entry is one Pod's process and its supervisor.
type entry struct {
	uid  types.UID
	name string
	ctx  context.Context // done when the Pod goes or the Runner closes
	stop context.CancelFunc
	done chan struct{} // closed when the supervisor has returned

	// Guarded by Runner.mu.
	pod           *corev1.Pod // last seen
	phase         Phase
	proc          Process
	procs         []Process // every process started, oldest first
	started       time.Time
	ready         bool
	readySince    time.Time
	stopRequested time.Time
	// grace is the termination grace period the deletion asked for, as
	// first seen: kwok's pod-delete stage, standing in for the kubelet's
	// final delete, deletes every Terminating Pod again with a grace of 0,
	// which must not cut short the stop of a process the Finalizer holds.
	grace    time.Duration
	exited   time.Time
	closing  bool // stopped by Close: no preStop sleep
	restarts int
	// written is the container state last written into the Pod's status
	// (Options.SetPodStatus), when hasWritten.
	written    containerState
	hasWritten bool
	// writtenImageID is the imageID writeImageID last wrote (without
	// Options.SetPodStatus).
	writtenImageID string
}

// Start watches the Pods (and the Lease) and returns once the watches have
// synced; the processes of Pods already Running are being started. ctx
// bounds the sync only: the Runner lives until Close.
func Start(ctx context.Context, opts Options) (*Runner, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.Background())
	r := &Runner{
		opts: opts, ctx: rctx, cancel: cancel, kill: make(chan struct{}),
		log:     opts.Log.With("namespace", opts.Namespace),
		entries: map[types.UID]*entry{},
		lease:   leaseLog{name: opts.Lease},
		census:  census{readyPods: map[types.UID]bool{}},
	}
	synced, err := r.watch()
	if err != nil {
		cancel()
		return nil, err
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		_ = r.Close(context.Background())
		return nil, fmt.Errorf("podrunner: watch pods %q in %s: %w", opts.Selector, opts.Namespace, context.Cause(ctx))
	}
	return r, nil
}

// watch starts the Pod and Lease informers; they stop with r.ctx.
func (r *Runner) watch() ([]cache.InformerSynced, error) {
	pods := informers.NewSharedInformerFactoryWithOptions(r.opts.Kube, 0,
		informers.WithNamespace(r.opts.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = r.opts.Selector }))
	podInformer := pods.Core().V1().Pods().Informer()
	if _, err := podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { r.observe(obj) },
		UpdateFunc: func(_, obj any) { r.observe(obj) },
		DeleteFunc: r.gone,
	}); err != nil {
		return nil, fmt.Errorf("podrunner: watch pods: %w", err)
	}
	synced := []cache.InformerSynced{podInformer.HasSynced}
	pods.Start(r.ctx.Done())
	if r.opts.Lease == "" {
		return synced, nil
	}

	leases := informers.NewSharedInformerFactoryWithOptions(r.opts.Kube, 0,
		informers.WithNamespace(r.opts.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "metadata.name=" + r.opts.Lease }))
	leaseInformer := leases.Coordination().V1().Leases().Informer()
	if _, err := leaseInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { r.observeLease(obj, false) },
		UpdateFunc: func(_, obj any) { r.observeLease(obj, false) },
		DeleteFunc: func(obj any) { r.observeLease(obj, true) },
	}); err != nil {
		return nil, fmt.Errorf("podrunner: watch lease: %w", err)
	}
	leases.Start(r.ctx.Done())
	return append(synced, leaseInformer.HasSynced), nil
}

// observe starts the process of a Pod that became Running and stops the one
// of a Pod that is being deleted.
func (r *Runner) observe(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	defer r.recordLocked()
	r.census.readyPods[pod.UID] = podIsReady(pod)
	e := r.entries[pod.UID]
	switch {
	case e == nil && runnable(pod):
		r.startLocked(pod)
	case e != nil:
		e.pod = pod
		if pod.DeletionTimestamp != nil {
			r.stopLocked(e, "pod deleted")
		}
	}
}

// gone stops the process of a Pod that disappeared without the Runner
// seeing its deletion timestamp (kwok deletes a Pod at once when nothing
// holds it: a Runner without SetPodStatus, or after its Finalizer went).
func (r *Runner) gone(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.census.readyPods, pod.UID)
	defer r.recordLocked()
	if e := r.entries[pod.UID]; e != nil {
		if pod.DeletionGracePeriodSeconds != nil {
			e.pod = pod
		}
		r.stopLocked(e, "pod gone")
	}
}

// startLocked adds the entry of pod and starts its supervisor.
func (r *Runner) startLocked(pod *corev1.Pod) {
	ctx, stop := context.WithCancel(r.ctx)
	e := &entry{uid: pod.UID, name: pod.Name, ctx: ctx, stop: stop, done: make(chan struct{}), pod: pod, phase: PhaseStarting}
	r.entries[pod.UID] = e
	r.wg.Add(1)
	go r.supervise(e)
}

// stopLocked asks e's supervisor to stop the process, once.
func (r *Runner) stopLocked(e *entry, reason string) {
	if !e.stopRequested.IsZero() {
		return
	}
	e.stopRequested = time.Now()
	e.grace = gracePeriod(e.pod)
	if e.phase != PhaseExited {
		e.phase = PhaseStopping
	}
	r.recordLocked()
	r.log.Info("stopping pod process", "pod", e.name, "reason", reason,
		"grace", e.grace, "prestop", preStopSleep(e.pod))
	e.stop()
}

// Close stops watching and stops every process as a node shutdown would,
// without the preStop sleep: SIGTERM, then SIGKILL after the grace period
// or when ctx ends, whichever comes first. It returns once every process
// has exited, with ctx's error if it had to kill. Calling it twice is safe.
func (r *Runner) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	for _, e := range r.entries {
		if e.stopRequested.IsZero() {
			e.closing = true
		}
		r.stopLocked(e, "runner closing")
	}
	r.mu.Unlock()
	r.cancel()

	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		close(r.kill)
		<-done
		return fmt.Errorf("podrunner: processes killed: %w", ctx.Err())
	}
}

// Instances returns a snapshot of every Pod's process, live and exited,
// ordered by start time.
func (r *Runner) Instances() []Instance {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Instance, 0, len(r.entries))
	for _, e := range r.entries {
		out = append(out, Instance{
			Pod: e.name, UID: e.uid, Node: e.pod.Spec.NodeName, Phase: e.phase, Process: e.proc, Processes: slices.Clone(e.procs),
			Started: e.started, Ready: e.ready, ReadySince: e.readySince,
			StopRequested: e.stopRequested, Exited: e.exited, Restarts: e.restarts,
		})
	}
	slices.SortFunc(out, func(a, b Instance) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		return strings.Compare(a.Pod, b.Pod)
	})
	return out
}

// Instance returns the snapshot of the process of Pod name.
func (r *Runner) Instance(name string) (Instance, bool) {
	for _, i := range slices.Backward(r.Instances()) {
		if i.Pod == name {
			return i, true
		}
	}
	return Instance{}, false
}

// Serving returns the Pods whose process is ready and not being stopped,
// sorted.
func (r *Runner) Serving() []string {
	var out []string
	for _, i := range r.Instances() {
		if i.Serving() {
			out = append(out, i.Pod)
		}
	}
	slices.Sort(out)
	return out
}

// Leaders asks every live process, stopping ones included (a stopping
// leader leads until it releases the Lease), whether it leads, all at once,
// and returns the Pods that say so, sorted. A process that cannot answer
// does not count.
func (r *Runner) Leaders(ctx context.Context) []string {
	var live []Instance
	for _, i := range r.Instances() {
		if i.Process != nil && (i.Phase == PhaseRunning || i.Phase == PhaseStopping) {
			live = append(live, i)
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var out []string
	for _, i := range live {
		wg.Go(func() {
			if leading, err := i.Process.Leading(ctx); err == nil && leading {
				mu.Lock()
				out = append(out, i.Pod)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(out)
	return out
}
