package leader

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
