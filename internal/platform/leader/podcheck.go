package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// PodNotStopping returns a LockOptions.MayAcquire check that refuses the
// Lease while this replica's own Pod is being deleted (or is gone): during
// a node drain the kubelet's SIGTERM can arrive after the leader of the same
// node released the Lease, and taking it then would only move leadership
// twice.
func PodNotStopping(kube kubernetes.Interface, namespace, name string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		pod, err := kube.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return errors.New("this replica's pod is gone")
		case err != nil:
			// Not this check's call: the election has its own error paths.
			return nil
		case pod.DeletionTimestamp != nil:
			return fmt.Errorf("this replica's pod %s/%s is being deleted", namespace, name)
		}
		return nil
	}
}

// OwnPodGuard returns PodNotStopping for this replica's Pod, or nil when
// the Pod does not exist (a process run outside Kubernetes with POD_NAME
// set: refusing the Lease for a Pod that is "gone" would refuse it
// forever). The first read is retried until it gives a definite answer or
// timeout passes, each attempt bounded by attempt; a Pod that could not be
// read in that time keeps the guard on (it lets errors through) and says
// so in the log, rather than silently switching it off.
func OwnPodGuard(ctx context.Context, kube kubernetes.Interface, namespace, name string, timeout, attempt time.Duration, log *slog.Logger) func(ctx context.Context) error {
	var lastErr error
	err := wait.PollUntilContextTimeout(ctx, min(attempt/4, 200*time.Millisecond), timeout, true, func(ctx context.Context) (bool, error) {
		actx, cancel := context.WithTimeout(ctx, attempt)
		defer cancel()
		_, lastErr = kube.CoreV1().Pods(namespace).Get(actx, name, metav1.GetOptions{})
		if lastErr != nil && !apierrors.IsNotFound(lastErr) {
			log.Warn("reading this replica's pod failed; retrying", "pod", namespace+"/"+name, "err", lastErr)
			return false, nil
		}
		return true, nil
	})
	switch {
	case err != nil:
		log.Warn("could not read this replica's pod; the guard against acquiring the lease while the pod is deleted stays on and lets read errors through",
			"pod", namespace+"/"+name, "err", lastErr)
	case apierrors.IsNotFound(lastErr):
		log.Info("no pod of this name; not guarding the lease acquisition on its deletion", "pod", namespace+"/"+name)
		return nil
	}
	return PodNotStopping(kube, namespace, name)
}
