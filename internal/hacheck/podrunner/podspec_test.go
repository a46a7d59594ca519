package podrunner

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestGracePeriod(t *testing.T) {
	tests := []struct {
		name     string
		spec     *int64
		deletion *int64
		want     time.Duration
	}{
		{name: "API default", want: 30 * time.Second},
		{name: "from the spec", spec: ptr.To[int64](10), want: 10 * time.Second},
		{name: "the deletion's wins", spec: ptr.To[int64](10), deletion: ptr.To[int64](0), want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{}
			pod.Spec.TerminationGracePeriodSeconds = tc.spec
			pod.DeletionGracePeriodSeconds = tc.deletion
			assert.Equal(t, tc.want, gracePeriod(pod))
		})
	}
}

func TestContainerAndPreStop(t *testing.T) {
	sleep := func(s int64) *corev1.Lifecycle {
		return &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: s}}}
	}
	tests := []struct {
		name       string
		containers []corev1.Container
		want       string
		preStop    time.Duration
	}{
		{name: "no containers"},
		{name: "the chart's container", containers: []corev1.Container{{Name: "sidecar", Lifecycle: sleep(9)}, {Name: "primus", Lifecycle: sleep(5)}}, want: "primus", preStop: 5 * time.Second},
		{name: "else the first", containers: []corev1.Container{{Name: "app"}, {Name: "sidecar", Lifecycle: sleep(9)}}, want: "app"},
		{name: "exec preStop is not run", containers: []corev1.Container{{Name: "primus", Lifecycle: &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"sleep", "5"}}}}}}, want: "primus"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: tc.containers}}
			c := Container(pod)
			if tc.want == "" {
				assert.Nil(t, c)
			} else {
				assert.Equal(t, tc.want, c.Name)
			}
			assert.Equal(t, tc.preStop, preStopSleep(pod))
		})
	}
}
