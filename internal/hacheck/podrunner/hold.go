package podrunner

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Finalizer is the finalizer a Runner that owns Pod status
// (Options.SetPodStatus) puts on each Pod it runs a process for, and
// removes once that process has exited for good. It keeps a deleted Pod
// Terminating while its process still stops, as the kubelet keeps a Pod
// until its containers have stopped: kwok alone deletes a Pod at once and
// hands its IP to the next Pod while the old process may still serve
// connections at that address through its shutdown delay.
const Finalizer = "podrunner.primus.dev/process"

// holdPod adds Finalizer to e's Pod.
func (r *Runner) holdPod(e *entry) error {
	if !r.opts.SetPodStatus {
		return nil
	}
	return r.patchFinalizers(e, fmt.Sprintf(`{"metadata":{"finalizers":[%q]}}`, Finalizer))
}

// releasePod removes Finalizer from e's Pod; a Pod that is gone is no
// error.
func (r *Runner) releasePod(e *entry) {
	if !r.opts.SetPodStatus {
		return
	}
	body := fmt.Sprintf(`{"metadata":{"$deleteFromPrimitiveList/finalizers":[%q]}}`, Finalizer)
	if err := r.patchFinalizers(e, body); err != nil {
		r.log.Warn("release pod: its finalizer stays", "pod", e.name, "finalizer", Finalizer, "err", err)
	}
}

// patchFinalizers sends body, a strategic merge patch of the finalizers,
// to e's Pod. It does not use r.ctx: Close releases the Pods it stopped.
func (r *Runner) patchFinalizers(e *entry, body string) error {
	r.mu.Lock()
	pod := e.pod
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 5*time.Second)
	defer cancel()
	_, err := r.opts.Kube.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, []byte(body), metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
