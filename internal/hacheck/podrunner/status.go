package podrunner

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// containerState is what the Runner last wrote, or wants to write, into a
// Pod's status for its container: the kubelet's view of one container.
type containerState struct {
	ready    bool
	running  bool // false: the process exited and is being restarted
	restarts int
	started  time.Time // of the current process
	exitCode int       // of the last process that exited
	exitedAt time.Time
	imageID  string // of the current process (ImageIdentifier); "" unknown
}

// statusPatch is the strategic merge patch of the status subresource that
// makes pod's Ready and ContainersReady conditions and its container's
// status say s, as the kubelet's status manager writes them.
func statusPatch(pod *corev1.Pod, s containerState, now time.Time) ([]byte, error) {
	c := Container(pod)
	if c == nil {
		return nil, fmt.Errorf("pod %s has no container", pod.Name)
	}
	status, reason := corev1.ConditionFalse, "ContainersNotReady"
	if s.ready {
		status, reason = corev1.ConditionTrue, ""
	}
	cond := func(t corev1.PodConditionType) map[string]any {
		m := map[string]any{"type": t, "status": status, "lastTransitionTime": now.UTC().Format(time.RFC3339)}
		if reason != "" {
			m["reason"] = reason
		} else {
			m["reason"] = nil
		}
		return m
	}
	terminated := func() map[string]any {
		return map[string]any{"exitCode": s.exitCode, "reason": "Error",
			"finishedAt": s.exitedAt.UTC().Format(time.RFC3339)}
	}
	cs := map[string]any{"name": c.Name, "ready": s.ready, "started": s.running, "restartCount": s.restarts,
		"image": c.Image, "imageID": s.imageID}
	if s.running {
		cs["state"] = map[string]any{"running": map[string]any{"startedAt": s.started.UTC().Format(time.RFC3339)}, "terminated": nil, "waiting": nil}
	} else {
		cs["state"] = map[string]any{"running": nil, "terminated": terminated(), "waiting": nil}
	}
	if s.restarts > 0 && !s.exitedAt.IsZero() {
		cs["lastState"] = map[string]any{"terminated": terminated()}
	}
	return json.Marshal(map[string]any{"status": map[string]any{
		"conditions":        []any{cond(corev1.PodReady), cond(corev1.ContainersReady)},
		"containerStatuses": []any{cs},
	}})
}

// writeStatus patches e's Pod to say s, unless it already says s. When the
// Runner does not own Pod status (Options.SetPodStatus) it writes only the
// imageID (writeImageID). A Pod that is gone is no error: there is nothing
// left to say it on.
func (r *Runner) writeStatus(e *entry, s containerState) {
	if !r.opts.SetPodStatus {
		r.writeImageID(e, s)
		return
	}
	r.mu.Lock()
	pod, written, ok := e.pod, e.written, e.hasWritten
	r.mu.Unlock()
	if ok && written == s {
		return
	}
	body, err := statusPatch(pod, s, time.Now())
	if err != nil {
		r.log.Error("pod status", "pod", e.name, "err", err)
		return
	}
	if !r.patchPodStatus(e, pod, body, "pod status", "ready", s.ready) {
		return
	}
	r.mu.Lock()
	e.written, e.hasWritten = s, true
	r.mu.Unlock()
	r.log.Info("pod status written", "pod", e.name, "ready", s.ready, "running", s.running, "restarts", s.restarts)
}

// patchPodStatus sends body, a strategic merge patch, to pod's status
// subresource and reports whether it landed. A Pod that is gone is no
// error; another failure is logged as what (with logArgs) and retried at
// the next probe, unless e is stopping. It does not use r.ctx: Close writes
// the status of the processes it stopped.
func (r *Runner) patchPodStatus(e *entry, pod *corev1.Pod, body []byte, what string, logArgs ...any) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 5*time.Second)
	defer cancel()
	_, err := r.opts.Kube.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, body, metav1.PatchOptions{}, "status")
	if err == nil {
		return true
	}
	if !apierrors.IsNotFound(err) && e.ctx.Err() == nil {
		r.log.Warn("write "+what+"; retrying at the next probe", append(append([]any{"pod", e.name}, logArgs...), "err", err)...)
	}
	return false
}
