package podrunner

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
)

func TestLowestAndTimeBelow(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	history := []Census{
		{Time: at(0), ReadyPods: 3, Serving: 3},
		{Time: at(10), ReadyPods: 2, Serving: 2}, // an eviction
		{Time: at(11), ReadyPods: 3, Serving: 2}, // the replacement is Ready
		{Time: at(13), ReadyPods: 3, Serving: 3}, // and serves
		{Time: at(20), ReadyPods: 3, Serving: 1},
		{Time: at(21), ReadyPods: 3, Serving: 3},
	}
	serving := func(c Census) int { return c.Serving }
	tests := []struct {
		name               string
		from, to           time.Time
		wantReady, wantSrv Census
		below              time.Duration
	}{
		{name: "before any change", from: at(1), to: at(5), wantReady: history[0], wantSrv: history[0]},
		{name: "the state in effect at from counts", from: at(12), to: at(15), wantReady: history[2], wantSrv: history[2], below: time.Second},
		{name: "the earliest of equals", from: at(0), to: at(19), wantReady: history[1], wantSrv: history[1], below: 3 * time.Second},
		{name: "everything", from: at(0), to: at(30), wantReady: history[1], wantSrv: history[4], below: 4 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ready, srv, ok := Lowest(history, tc.from, tc.to)
			require.True(t, ok)
			assert.Equal(t, tc.wantReady, ready)
			assert.Equal(t, tc.wantSrv, srv)
			assert.Equal(t, tc.below, TimeBelow(history, tc.from, tc.to, serving, 3))
		})
	}
	_, _, ok := Lowest(nil, at(0), at(1))
	assert.False(t, ok)
	_, _, ok = Lowest(history, at(-5), at(-1))
	assert.False(t, ok, "nothing was in effect before the first Census")
}

func TestCensusCountsReadyPodsAndServingProcesses(t *testing.T) {
	ready := func(p *corev1.Pod) *corev1.Pod {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		return p
	}
	a := ready(newPod("primus-a", corev1.PodRunning, "kwok-node-0"))
	b := ready(newPod("primus-b", corev1.PodRunning, "kwok-node-1"))
	c := newPod("primus-c", corev1.PodRunning, "kwok-node-2") // Running, not Ready
	kube := kubefake.NewClientset(a, b, c)
	starter := &fakeStarter{}
	r := startRunner(t, kube, starter)
	last := func() Census {
		h := r.Census()
		if len(h) == 0 {
			return Census{}
		}
		return h[len(h)-1]
	}
	eventually(t, func() bool { c := last(); return c.ReadyPods == 2 && c.Serving == 3 }, "census %+v", last())

	require.NoError(t, kube.CoreV1().Pods(ns).Delete(t.Context(), "primus-a", metav1.DeleteOptions{}))
	eventually(t, func() bool { c := last(); return c.ReadyPods == 1 && c.Serving == 2 }, "census %+v", last())
	starter.processes("primus-b")[0].ready.Store(false)
	eventually(t, func() bool { c := last(); return c.ReadyPods == 1 && c.Serving == 1 }, "census %+v", last())

	history := r.Census()
	for i := 1; i < len(history); i++ {
		assert.NotEqual(t, [2]int{history[i-1].ReadyPods, history[i-1].Serving}, [2]int{history[i].ReadyPods, history[i].Serving},
			"a Census only when the counts change")
		assert.False(t, history[i].Time.Before(history[i-1].Time))
	}
}
