//go:build unix

package podrunner

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

// TestHoldsADeletedPodUntilItsProcessExits: a Runner that owns Pod status
// keeps its finalizer on a Pod while the Pod's process runs, also after
// the Pod was deleted, and removes it once the process has exited; one
// that does not own Pod status adds none.
func TestHoldsADeletedPodUntilItsProcessExits(t *testing.T) {
	tests := []struct {
		name      string
		setStatus bool
		wantHeld  bool
	}{
		{name: "owns pod status", setStatus: true, wantHeld: true},
		{name: "does not own pod status", setStatus: false, wantHeld: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := newPod("primus-a", corev1.PodRunning, "kwok-node-0")
			kube := kubefake.NewClientset(pod)
			r, err := Start(t.Context(), Options{
				Kube: kube, Namespace: ns, Selector: selector, Starter: &fakeStarter{},
				ProbePeriod: 5 * time.Millisecond, RestartDelay: 5 * time.Millisecond, SetPodStatus: tc.setStatus,
			})
			require.NoError(t, err)
			t.Cleanup(func() { _ = r.Close(context.Background()) })
			eventually(t, func() bool { return phaseOf(r, "primus-a") == PhaseRunning }, "never started")
			held := func() bool {
				got, err := kube.CoreV1().Pods(ns).Get(t.Context(), "primus-a", metav1.GetOptions{})
				require.NoError(t, err)
				return slices.Contains(got.Finalizers, Finalizer)
			}
			assert.Equal(t, tc.wantHeld, held(), "finalizer while the process runs")

			// The API server's graceful deletion: a deletion timestamp,
			// the object kept by the finalizer.
			got, err := kube.CoreV1().Pods(ns).Get(t.Context(), "primus-a", metav1.GetOptions{})
			require.NoError(t, err)
			got.DeletionTimestamp = &metav1.Time{Time: time.Now()}
			got.DeletionGracePeriodSeconds = ptr.To[int64](30)
			_, err = kube.CoreV1().Pods(ns).Update(t.Context(), got, metav1.UpdateOptions{})
			require.NoError(t, err)
			eventually(t, func() bool { return phaseOf(r, "primus-a") == PhaseExited }, "never stopped")
			eventually(t, func() bool { return !held() }, "finalizer still on the pod after its process exited")
		})
	}
}
