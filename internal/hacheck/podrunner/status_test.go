package podrunner

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
)

// podStatus returns the Pod's Ready condition and its container's status.
func podStatus(t *testing.T, kube *kubefake.Clientset, name string) (ready corev1.ConditionStatus, cs corev1.ContainerStatus) {
	t.Helper()
	p, err := kube.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			ready = c.Status
		}
	}
	if len(p.Status.ContainerStatuses) == 1 {
		cs = p.Status.ContainerStatuses[0]
	}
	return ready, cs
}

func TestSetPodStatusFollowsTheProcess(t *testing.T) {
	pod := newPod("primus-a", corev1.PodRunning, "kwok-node-0")
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
	pod.Spec.Containers[0].Image = "ghcr.io/primus-dev/primus:0.3.0"
	kube := kubefake.NewClientset(pod)
	starter := &fakeStarter{imageID: testImageID}
	r, err := Start(t.Context(), Options{
		Kube: kube, Namespace: ns, Selector: selector, Starter: starter, SetPodStatus: true,
		ProbePeriod: 5 * time.Millisecond, RestartDelay: 5 * time.Millisecond,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close(context.Background()) })

	is := func(want corev1.ConditionStatus, restarts int32, msg string) {
		t.Helper()
		eventually(t, func() bool {
			ready, cs := podStatus(t, kube, "primus-a")
			return ready == want && cs.RestartCount == restarts && cs.Ready == (want == corev1.ConditionTrue)
		}, msg)
	}
	is(corev1.ConditionTrue, 0, "Ready once the process answers its probe")
	_, cs := podStatus(t, kube, "primus-a")
	assert.Equal(t, "primus", cs.Name)
	require.NotNil(t, cs.State.Running)
	assert.Equal(t, "ghcr.io/primus-dev/primus:0.3.0", cs.Image, "image is the spec's, as the kubelet reports it")
	assert.Equal(t, testImageID, cs.ImageID, "imageID names what the process runs")

	p := starter.processes("primus-a")[0]
	p.ready.Store(false)
	is(corev1.ConditionFalse, 0, "unready when the probe fails")
	p.ready.Store(true)
	is(corev1.ConditionTrue, 0, "Ready again")

	p.exit() // a crash: the container restarts in place
	eventually(t, func() bool { return len(starter.processes("primus-a")) == 2 }, "never restarted")
	is(corev1.ConditionTrue, 1, "the restart is counted and the new process is Ready")
	_, cs = podStatus(t, kube, "primus-a")
	require.NotNil(t, cs.LastTerminationState.Terminated, "the crashed process is the last state")
	i, _ := r.Instance("primus-a")
	require.Len(t, i.Processes, 2, "both processes of the Pod are in the record")
	assert.Same(t, p, i.Processes[0].(*fakeProcess))

	require.NoError(t, r.Close(context.Background()))
	ready, cs := podStatus(t, kube, "primus-a")
	assert.Equal(t, corev1.ConditionFalse, ready, "a Pod whose process the runner stopped is not Ready")
	assert.NotNil(t, cs.State.Terminated)
}

func TestWithoutSetPodStatusThePodIsLeftAlone(t *testing.T) {
	pod := newPod("primus-a", corev1.PodRunning, "kwok-node-0")
	kube := kubefake.NewClientset(pod)
	r := startRunner(t, kube, &fakeStarter{})
	eventually(t, func() bool { return len(r.Serving()) == 1 }, "never serving")
	for _, a := range kube.Actions() {
		assert.NotEqual(t, "patch", a.GetVerb(), "no write: kwok owns the status")
	}
}

// testImageID is what a fakeStarter's processes say they run.
const testImageID = "ghcr.io/primus-dev/primus@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// TestWithoutSetPodStatusOnlyTheImageIDIsAdded: where kwok owns Pod status,
// the Runner adds the imageID of what it runs and keeps what kwok wrote.
func TestWithoutSetPodStatusOnlyTheImageIDIsAdded(t *testing.T) {
	pod := newPod("primus-a", corev1.PodRunning, "kwok-node-0")
	pod.Spec.Containers[0].Image = "ghcr.io/primus-dev/primus:0.3.0"
	started := metav1.NewTime(time.Now().Add(-time.Minute).Truncate(time.Second))
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
		Name: "primus", Image: "ghcr.io/primus-dev/primus:0.3.0", Ready: true, Started: new(true),
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}},
	}}
	kube := kubefake.NewClientset(pod)
	startRunner(t, kube, &fakeStarter{imageID: testImageID})

	var cs corev1.ContainerStatus
	var ready corev1.ConditionStatus
	eventually(t, func() bool { ready, cs = podStatus(t, kube, "primus-a"); return cs.ImageID == testImageID }, "imageID never written")
	assert.Equal(t, corev1.ConditionTrue, ready, "kwok's conditions are kept")
	assert.True(t, cs.Ready, "kwok's container status is kept")
	assert.Equal(t, "ghcr.io/primus-dev/primus:0.3.0", cs.Image)
	require.NotNil(t, cs.State.Running)
	assert.True(t, started.Equal(&cs.State.Running.StartedAt), "kwok's start time is kept")
}

func TestImageIDPatchNeedsKwoksStatus(t *testing.T) {
	_, err := imageIDPatch(newPod("primus-a", corev1.PodRunning, "kwok-node-0"), testImageID)
	assert.ErrorContains(t, err, "no status for container primus", "nothing to add the imageID to yet")
}

func TestImageRepository(t *testing.T) {
	cases := []struct{ ref, want string }{
		{"ghcr.io/primus-dev/primus:0.3.0", "ghcr.io/primus-dev/primus"},
		{"ghcr.io/primus-dev/primus@sha256:0123", "ghcr.io/primus-dev/primus"},
		{"ghcr.io/primus-dev/primus:0.3.0@sha256:0123", "ghcr.io/primus-dev/primus"},
		{"localhost:5000/primus", "localhost:5000/primus"},
		{"localhost:5000/primus:dev", "localhost:5000/primus"},
		{"primus", "primus"},
	}
	for _, tc := range cases {
		t.Run(tc.ref, func(t *testing.T) {
			assert.Equal(t, tc.want, imageRepository(tc.ref))
		})
	}
}
