package podrunner

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// defaultGracePeriod is the API server's default terminationGracePeriodSeconds.
const defaultGracePeriod = 30 * time.Second

// minGraceAfterPreStop is what the kubelet still gives a container after a
// preStop hook that used up the grace period, before SIGKILL.
const minGraceAfterPreStop = 2 * time.Second

// ContainerName is the container the Runner runs: the chart's. A Pod
// without it has its first container run.
const ContainerName = "primus"

// Container returns the container of pod the Runner runs, or nil for a Pod
// without containers.
func Container(pod *corev1.Pod) *corev1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == ContainerName {
			return &pod.Spec.Containers[i]
		}
	}
	if len(pod.Spec.Containers) > 0 {
		return &pod.Spec.Containers[0]
	}
	return nil
}

// runnable reports whether pod should have a process: it is Running on a
// node and not being deleted.
func runnable(pod *corev1.Pod) bool {
	return pod.Spec.NodeName != "" && pod.Status.Phase == corev1.PodRunning && pod.DeletionTimestamp == nil
}

// gracePeriod is how long the kubelet gives pod to stop: the grace period
// of its deletion, else its terminationGracePeriodSeconds, else 30 s.
func gracePeriod(pod *corev1.Pod) time.Duration {
	switch {
	case pod.DeletionGracePeriodSeconds != nil:
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return defaultGracePeriod
}

// preStopSleep is the container's preStop sleep action, or zero. Other
// preStop handlers (exec, httpGet) have nothing to run against here and
// are ignored.
func preStopSleep(pod *corev1.Pod) time.Duration {
	c := Container(pod)
	if c == nil || c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		return 0
	}
	return time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
}
