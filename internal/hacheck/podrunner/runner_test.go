package podrunner

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

const (
	ns       = "platform"
	selector = "app.kubernetes.io/instance=primus"
)

// fakeProcess records the signals it gets; it exits on SIGKILL, and on
// SIGTERM unless it ignores it.
type fakeProcess struct {
	pod        string
	ignoreTerm bool
	// termDelay, when set, is how long after SIGTERM it exits.
	termDelay time.Duration
	// gate, when set, holds every readiness probe until it is closed,
	// whatever the probe's context says; inProbe is set once one waits.
	gate    chan struct{}
	inProbe atomic.Bool
	imageID string
	ready   atomic.Bool
	leading atomic.Bool

	mu      sync.Mutex
	signals []sigAt
	done    chan struct{}
	once    sync.Once
}

type sigAt struct {
	sig os.Signal
	at  time.Time
}

func (p *fakeProcess) Signal(sig os.Signal) error {
	p.mu.Lock()
	p.signals = append(p.signals, sigAt{sig, time.Now()})
	p.mu.Unlock()
	switch {
	case sig == syscall.SIGTERM && p.termDelay > 0:
		time.AfterFunc(p.termDelay, p.exit)
	case sig == syscall.SIGKILL || (sig == syscall.SIGTERM && !p.ignoreTerm):
		p.exit()
	}
	return nil
}

func (p *fakeProcess) exit()                 { p.once.Do(func() { close(p.done) }) }
func (p *fakeProcess) Done() <-chan struct{} { return p.done }
func (p *fakeProcess) Ready(context.Context) bool {
	if p.gate != nil {
		p.inProbe.Store(true)
		<-p.gate
	}
	return p.ready.Load()
}
func (p *fakeProcess) Leading(context.Context) (bool, error) {
	return p.leading.Load(), nil
}
func (p *fakeProcess) ImageID() (string, error) { return p.imageID, nil }

// received returns the signals so far.
func (p *fakeProcess) received() []os.Signal {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []os.Signal
	for _, s := range p.signals {
		out = append(out, s.sig)
	}
	return out
}

// firstSignal returns when the first signal arrived.
func (p *fakeProcess) firstSignal() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.signals) == 0 {
		return time.Time{}
	}
	return p.signals[0].at
}

// fakeStarter starts fakeProcesses and remembers every start.
type fakeStarter struct {
	ignoreTerm bool
	termDelay  time.Duration
	gate       chan struct{} // of the next process started, then cleared
	imageID    string        // of every process
	fail       atomic.Int32  // starts left to fail

	mu      sync.Mutex
	started []*fakeProcess
	pods    []*corev1.Pod
}

func (s *fakeStarter) Start(_ context.Context, pod *corev1.Pod) (Process, error) {
	if s.fail.Load() > 0 {
		s.fail.Add(-1)
		return nil, errors.New("no such binary")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &fakeProcess{pod: pod.Name, ignoreTerm: s.ignoreTerm, termDelay: s.termDelay, gate: s.gate, imageID: s.imageID, done: make(chan struct{})}
	s.gate = nil
	p.ready.Store(true)
	s.started = append(s.started, p)
	s.pods = append(s.pods, pod.DeepCopy())
	return p, nil
}

// processes returns the processes started for pod, oldest first.
func (s *fakeStarter) processes(pod string) []*fakeProcess {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*fakeProcess
	for _, p := range s.started {
		if p.pod == pod {
			out = append(out, p)
		}
	}
	return out
}

// newPod is a release Pod in phase on node ("" for unscheduled).
func newPod(name string, phase corev1.PodPhase, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns, UID: types.UID("uid-" + name),
			Labels: map[string]string{"app.kubernetes.io/instance": "primus"},
		},
		Spec: corev1.PodSpec{
			NodeName:                      node,
			TerminationGracePeriodSeconds: ptr.To[int64](30),
			Containers:                    []corev1.Container{{Name: "primus", Args: []string{"--leader-elect=true"}}},
		},
		Status: corev1.PodStatus{Phase: phase},
	}
}

// startRunner starts a Runner on kube and closes it at cleanup.
func startRunner(t *testing.T, kube kubernetes.Interface, starter Starter) *Runner {
	t.Helper()
	r, err := Start(t.Context(), Options{
		Kube: kube, Namespace: ns, Selector: selector, Lease: "primus-leader", Starter: starter,
		ProbePeriod: 5 * time.Millisecond, RestartDelay: 5 * time.Millisecond,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

// eventually waits up to 5 s for cond.
func eventually(t *testing.T, cond func() bool, msg string, args ...any) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, 2*time.Millisecond, append([]any{msg}, args...)...)
}

// barrier creates a runnable Pod of the release and waits until its
// process runs. The Runner handles the Pod events of its watch in order,
// so once the barrier's process runs, every event before it has been
// handled: a negative assertion made then is not a race with a slow
// handler, as one after a fixed sleep would be.
func barrier(t *testing.T, kube kubernetes.Interface, r *Runner, name string) {
	t.Helper()
	_, err := kube.CoreV1().Pods(ns).Create(t.Context(), newPod(name, corev1.PodRunning, "kwok-node-9"), metav1.CreateOptions{})
	require.NoError(t, err)
	eventually(t, func() bool { return phaseOf(r, name) == PhaseRunning }, "barrier %s never started", name)
}

func phaseOf(r *Runner, pod string) Phase {
	i, ok := r.Instance(pod)
	if !ok {
		return ""
	}
	return i.Phase
}

func TestStartsAProcessPerRunningPod(t *testing.T) {
	tests := []struct {
		name    string
		pod     *corev1.Pod
		runs    bool
		wantEnv string
	}{
		{name: "running on a node", pod: newPod("primus-a", corev1.PodRunning, "kwok-node-0"), runs: true},
		{name: "pending on a node", pod: newPod("primus-b", corev1.PodPending, "kwok-node-0")},
		{name: "not scheduled", pod: newPod("primus-c", corev1.PodPending, "")},
		{name: "another release", pod: func() *corev1.Pod {
			p := newPod("other-a", corev1.PodRunning, "kwok-node-0")
			p.Labels = map[string]string{"app.kubernetes.io/instance": "other"}
			return p
		}()},
		{name: "being deleted", pod: func() *corev1.Pod {
			p := newPod("primus-d", corev1.PodRunning, "kwok-node-0")
			p.DeletionTimestamp = &metav1.Time{Time: time.Now()}
			p.Finalizers = []string{"test/keep"}
			return p
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kube := kubefake.NewClientset(tc.pod)
			starter := &fakeStarter{}
			r := startRunner(t, kube, starter)
			if tc.runs {
				eventually(t, func() bool { return len(starter.processes(tc.pod.Name)) == 1 }, "no process for %s", tc.pod.Name)
				eventually(t, func() bool { return len(r.Serving()) == 1 }, "the process never serves")
				i, ok := r.Instance(tc.pod.Name)
				require.True(t, ok)
				assert.Equal(t, PhaseRunning, i.Phase)
				assert.Equal(t, "kwok-node-0", i.Node)
				assert.Equal(t, tc.pod.UID, i.UID)
				assert.False(t, i.ReadySince.IsZero())
				assert.Equal(t, tc.pod.Spec.Containers, starter.pods[0].Spec.Containers, "the starter gets the Pod as the API has it")
				return
			}
			barrier(t, kube, r, "barrier")
			assert.Empty(t, starter.processes(tc.pod.Name))
			_, has := r.Instance(tc.pod.Name)
			assert.False(t, has)
		})
	}
}

func TestStartsWhenThePodBecomesRunning(t *testing.T) {
	pod := newPod("primus-a", corev1.PodPending, "kwok-node-0")
	kube := kubefake.NewClientset(pod)
	starter := &fakeStarter{}
	r := startRunner(t, kube, starter)
	barrier(t, kube, r, "barrier-1")
	require.Empty(t, starter.processes("primus-a"))

	pod.Status.Phase = corev1.PodRunning
	_, err := kube.CoreV1().Pods(ns).UpdateStatus(t.Context(), pod, metav1.UpdateOptions{})
	require.NoError(t, err)
	eventually(t, func() bool { return phaseOf(r, "primus-a") == PhaseRunning }, "never started")
	// Later updates of the Running Pod start nothing more.
	pod.Labels["extra"] = "x"
	_, err = kube.CoreV1().Pods(ns).Update(t.Context(), pod, metav1.UpdateOptions{})
	require.NoError(t, err)
	barrier(t, kube, r, "barrier-2")
	assert.Len(t, starter.processes("primus-a"), 1)
}

func TestStopsTheProcessOfAGoingPod(t *testing.T) {
	tests := []struct {
		name       string
		grace      int64
		ignoreTerm bool
		// remove deletes the Pod the way the test case's actor does.
		remove func(t *testing.T, kube kubernetes.Interface, pod *corev1.Pod)
		want   []os.Signal
	}{
		{
			name: "deletion timestamp (eviction held by a finalizer)", grace: 30,
			remove: func(t *testing.T, kube kubernetes.Interface, pod *corev1.Pod) {
				pod.DeletionTimestamp = &metav1.Time{Time: time.Now()}
				pod.DeletionGracePeriodSeconds = ptr.To[int64](30)
				_, err := kube.CoreV1().Pods(ns).Update(t.Context(), pod, metav1.UpdateOptions{})
				require.NoError(t, err)
			},
			want: []os.Signal{syscall.SIGTERM},
		},
		{
			name: "gone at once (kwok)", grace: 30,
			remove: func(t *testing.T, kube kubernetes.Interface, pod *corev1.Pod) {
				require.NoError(t, kube.CoreV1().Pods(ns).Delete(t.Context(), pod.Name, metav1.DeleteOptions{}))
			},
			want: []os.Signal{syscall.SIGTERM},
		},
		{
			name: "ignores SIGTERM past its grace period", grace: 0, ignoreTerm: true,
			remove: func(t *testing.T, kube kubernetes.Interface, pod *corev1.Pod) {
				require.NoError(t, kube.CoreV1().Pods(ns).Delete(t.Context(), pod.Name, metav1.DeleteOptions{}))
			},
			want: []os.Signal{syscall.SIGTERM, syscall.SIGKILL},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := newPod("primus-a", corev1.PodRunning, "kwok-node-0")
			pod.Spec.TerminationGracePeriodSeconds = ptr.To(tc.grace)
			kube := kubefake.NewClientset(pod)
			starter := &fakeStarter{ignoreTerm: tc.ignoreTerm}
			r := startRunner(t, kube, starter)
			eventually(t, func() bool { return phaseOf(r, "primus-a") == PhaseRunning }, "never started")

			tc.remove(t, kube, pod)
			eventually(t, func() bool { return phaseOf(r, "primus-a") == PhaseExited }, "never stopped")
			p := starter.processes("primus-a")[0]
			assert.Equal(t, tc.want, p.received())
			i, _ := r.Instance("primus-a")
			assert.False(t, i.StopRequested.IsZero())
			assert.False(t, i.Exited.Before(i.StopRequested))
			assert.False(t, i.Serving())
			assert.Empty(t, r.Serving())
		})
	}
}

// TestAForceDeleteAfterTheDeletionKeepsItsGrace: kwok's pod-delete stage
// deletes every Terminating Pod again with a grace of 0 while the
// Finalizer holds it. When that reaches the Runner before the process's
// supervisor gets to stop it (here: held in a readiness probe), the
// process still gets the grace the deletion asked for, not a SIGKILL right
// after SIGTERM.
func TestAForceDeleteAfterTheDeletionKeepsItsGrace(t *testing.T) {
	pod := newPod("primus-a", corev1.PodRunning, "kwok-node-0")
	kube := kubefake.NewClientset(pod)
	gate := make(chan struct{})
	var open sync.Once
	starter := &fakeStarter{termDelay: 100 * time.Millisecond, gate: gate}
	r := startRunner(t, kube, starter)
	// Cleanups run last first: the gate opens before the Runner closes, so
	// a failure below cannot leave Close waiting on a held probe.
	t.Cleanup(func() { open.Do(func() { close(gate) }) })
	eventually(t, func() bool { return phaseOf(r, "primus-a") == PhaseRunning }, "never started")
	p := starter.processes("primus-a")[0]
	eventually(t, p.inProbe.Load, "no readiness probe")
	// The grace stays what the deletion asked; a deliberate later
	// shortening (kubectl delete --force on a held Pod) is not followed
	// either: the podrunner cannot tell it from kwok's.

	pod.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	pod.DeletionGracePeriodSeconds = ptr.To[int64](30)
	pod, err := kube.CoreV1().Pods(ns).Update(t.Context(), pod, metav1.UpdateOptions{})
	require.NoError(t, err)
	pod.DeletionGracePeriodSeconds = ptr.To[int64](0) // kwok's delete
	_, err = kube.CoreV1().Pods(ns).Update(t.Context(), pod, metav1.UpdateOptions{})
	require.NoError(t, err)
	barrier(t, kube, r, "primus-barrier") // both updates handled
	open.Do(func() { close(gate) })

	eventually(t, func() bool { return phaseOf(r, "primus-a") == PhaseExited }, "never stopped")
	assert.Equal(t, []os.Signal{syscall.SIGTERM}, p.received(), "stopped by SIGTERM within the 30 s grace, not killed")
}

func TestPreStopSleepComesBeforeSIGTERM(t *testing.T) {
	pod := newPod("primus-a", corev1.PodRunning, "kwok-node-0")
	pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 1}}}
	kube := kubefake.NewClientset(pod)
	starter := &fakeStarter{}
	r := startRunner(t, kube, starter)
	eventually(t, func() bool { return phaseOf(r, "primus-a") == PhaseRunning }, "never started")

	deleted := time.Now()
	require.NoError(t, kube.CoreV1().Pods(ns).Delete(t.Context(), pod.Name, metav1.DeleteOptions{}))
	eventually(t, func() bool { return phaseOf(r, "primus-a") == PhaseExited }, "never stopped")
	p := starter.processes("primus-a")[0]
	assert.Equal(t, []os.Signal{syscall.SIGTERM}, p.received())
	assert.GreaterOrEqual(t, p.firstSignal().Sub(deleted), 900*time.Millisecond, "SIGTERM after the 1 s preStop sleep")
}

func TestRestartsAProcessThatExitsWhileItsPodLives(t *testing.T) {
	pod := newPod("primus-a", corev1.PodRunning, "kwok-node-0")
	kube := kubefake.NewClientset(pod)
	starter := &fakeStarter{}
	starter.fail.Store(1) // the first start fails too, and is retried
	r := startRunner(t, kube, starter)
	eventually(t, func() bool { return len(starter.processes("primus-a")) == 1 }, "never started")

	starter.processes("primus-a")[0].exit() // a crash, or leadership lost
	eventually(t, func() bool { return len(starter.processes("primus-a")) == 2 }, "never restarted")
	eventually(t, func() bool { return phaseOf(r, "primus-a") == PhaseRunning }, "not running after the restart")
	i, _ := r.Instance("primus-a")
	assert.Equal(t, 1, i.Restarts, "a failed start is not a restart; the crash is")
	assert.Same(t, starter.processes("primus-a")[1], i.Process.(*fakeProcess))
}

func TestClose(t *testing.T) {
	tests := []struct {
		name       string
		ignoreTerm bool
		ctxTimeout time.Duration
		wantErr    bool
		want       []os.Signal
	}{
		{name: "graceful", ctxTimeout: 5 * time.Second, want: []os.Signal{syscall.SIGTERM}},
		{name: "kills when ctx ends", ignoreTerm: true, ctxTimeout: 20 * time.Millisecond, wantErr: true, want: []os.Signal{syscall.SIGTERM, syscall.SIGKILL}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newPod("primus-a", corev1.PodRunning, "kwok-node-0")
			b := newPod("primus-b", corev1.PodRunning, "kwok-node-1")
			// Close skips the preStop sleep: a test's teardown should not wait.
			a.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 30}}}
			kube := kubefake.NewClientset(a, b)
			starter := &fakeStarter{ignoreTerm: tc.ignoreTerm}
			r := startRunner(t, kube, starter)
			eventually(t, func() bool { return len(r.Serving()) == 2 }, "never serving")

			ctx, cancel := context.WithTimeout(context.Background(), tc.ctxTimeout)
			defer cancel()
			start := time.Now()
			err := r.Close(ctx)
			if tc.wantErr {
				assert.Error(t, err)
			} else {
				assert.NoError(t, err)
			}
			assert.Less(t, time.Since(start), 2*time.Second)
			for _, name := range []string{"primus-a", "primus-b"} {
				assert.Equal(t, tc.want, starter.processes(name)[0].received(), name)
				assert.Equal(t, PhaseExited, phaseOf(r, name))
			}
			assert.NoError(t, r.Close(ctx), "a second Close does nothing")

			// A closed Runner starts nothing, whatever its watch would
			// still deliver: hand it the event directly.
			r.observe(newPod("primus-c", corev1.PodRunning, "kwok-node-2"))
			assert.Empty(t, starter.processes("primus-c"))
			_, has := r.Instance("primus-c")
			assert.False(t, has)
		})
	}
}

func TestLeadership(t *testing.T) {
	a := newPod("primus-a", corev1.PodRunning, "kwok-node-0")
	b := newPod("primus-b", corev1.PodRunning, "kwok-node-1")
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "primus-leader", Namespace: ns}}
	other := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: ns}, Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("x")}}
	kube := kubefake.NewClientset(a, b, lease, other)
	starter := &fakeStarter{}
	r := startRunner(t, kube, starter)
	eventually(t, func() bool { return len(r.Serving()) == 2 }, "never serving")
	assert.Empty(t, r.LeaseHolder(), "another Lease's holder is not ours")
	assert.Empty(t, r.LeaderChanges(), "an unheld Lease is no change")

	setHolder := func(holder string, transitions int32) {
		t.Helper()
		l, err := kube.CoordinationV1().Leases(ns).Get(t.Context(), "primus-leader", metav1.GetOptions{})
		require.NoError(t, err)
		l.Spec.HolderIdentity = ptr.To(holder)
		l.Spec.LeaseTransitions = ptr.To(transitions)
		_, err = kube.CoordinationV1().Leases(ns).Update(t.Context(), l, metav1.UpdateOptions{})
		require.NoError(t, err)
		eventually(t, func() bool { return r.LeaseHolder() == holder }, "holder never %q", holder)
	}
	setHolder("primus-a", 0)
	elected := time.Now()
	setHolder("primus-a", 0) // a renewal
	setHolder("", 0)         // released
	setHolder("primus-b", 1)

	changes := r.LeaderChanges()
	require.Len(t, changes, 3)
	assert.Equal(t, []string{"", "primus-a", ""}, []string{changes[0].From, changes[1].From, changes[2].From})
	assert.Equal(t, []string{"primus-a", "", "primus-b"}, []string{changes[0].To, changes[1].To, changes[2].To})
	assert.Equal(t, int32(1), changes[2].Transitions)
	assert.Equal(t, 1, r.Moves(time.Time{}))
	assert.Equal(t, 1, r.Moves(elected))
	assert.Equal(t, 0, r.Moves(time.Now()))

	starter.processes("primus-b")[0].leading.Store(true)
	assert.Equal(t, []string{"primus-b"}, r.Leaders(t.Context()))
}

func TestMoves(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	change := func(s int, from, to string) LeaderChange { return LeaderChange{Time: at(s), From: from, To: to} }
	tests := []struct {
		name    string
		changes []LeaderChange
		since   time.Time
		want    []string
	}{
		{name: "none"},
		{name: "first election", changes: []LeaderChange{change(1, "", "a_1")}},
		{name: "crash takeover", changes: []LeaderChange{change(1, "", "a_1"), change(5, "a_1", "b_1")}, want: []string{"a"}},
		{name: "release and takeover", changes: []LeaderChange{change(1, "", "a_1"), change(5, "a_1", ""), change(6, "", "b_1")}, want: []string{"a"}},
		{name: "release and back", changes: []LeaderChange{change(1, "", "a_1"), change(5, "a_1", ""), change(6, "", "a_1")}},
		{name: "restart in place is a move", changes: []LeaderChange{change(1, "", "a_1"), change(5, "a_1", ""), change(6, "", "a_2")}, want: []string{"a"}},
		{name: "two moves", changes: []LeaderChange{change(1, "", "a_1"), change(5, "a_1", ""), change(6, "", "b_1"), change(9, "b_1", "c_1")}, want: []string{"a", "b"}},
		{name: "moves before since do not count", changes: []LeaderChange{change(1, "", "a_1"), change(5, "a_1", "b_1"), change(9, "b_1", "c_1")}, since: at(6), want: []string{"b"}},
		{name: "the holder before since counts as the previous", changes: []LeaderChange{change(1, "", "a_1"), change(5, "a_1", ""), change(9, "", "b_1")}, since: at(6), want: []string{"a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, MovedFrom(tc.changes, tc.since))
			assert.Equal(t, len(tc.want), Moves(tc.changes, tc.since))
		})
	}
}

func TestOptionsAreChecked(t *testing.T) {
	kube := kubefake.NewClientset()
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{name: "no client", opts: Options{Namespace: ns, Starter: &fakeStarter{}}, want: "Kube is required"},
		{name: "no namespace", opts: Options{Kube: kube, Starter: &fakeStarter{}}, want: "Namespace is required"},
		{name: "no starter", opts: Options{Kube: kube, Namespace: ns}, want: "Starter is required"},
		{name: "bad selector", opts: Options{Kube: kube, Namespace: ns, Starter: &fakeStarter{}, Selector: "a b"}, want: `selector "a b"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Start(t.Context(), tc.opts)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}
