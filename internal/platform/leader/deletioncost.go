package leader

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// DeletionCostAnnotation is the annotation the ReplicaSet controller reads
// to pick which Pods to remove first on scale-down: lower cost goes first.
const DeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

// LeaderDeletionCost is the cost the leader sets on its own Pod, so that
// non-leaders (cost 0 by default) are removed before it.
const LeaderDeletionCost = "10000"

// DeletionCost is a manager Runnable that runs on the leader only: it sets
// the pod-deletion-cost annotation on the leader's own Pod when it starts
// leading and removes it when it stops gracefully. A Pod that does not
// exist (the binary runs outside Kubernetes) is not an error.
type DeletionCost struct {
	// Kube patches the Pod.
	Kube kubernetes.Interface
	// Namespace and Pod name the leader's own Pod.
	Namespace, Pod string
	// Log receives one line per change. Nil discards.
	Log *slog.Logger
}

// NeedLeaderElection makes the manager run DeletionCost on the leader only.
func (d *DeletionCost) NeedLeaderElection() bool { return true }

// Start marks the Pod, waits for ctx to end, and unmarks it.
func (d *DeletionCost) Start(ctx context.Context) error {
	if err := d.set(ctx, LeaderDeletionCost); err != nil {
		d.log().Warn("set pod deletion cost", "pod", d.Pod, "err", err)
	}
	<-ctx.Done()
	// The manager's context is done; the removal needs one of its own.
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := d.Clear(stopCtx); err != nil {
		d.log().Warn("remove pod deletion cost", "pod", d.Pod, "err", err)
	}
	return nil
}

// Clear removes the annotation. The binary calls it before it starts
// electing, so a replica that lost leadership by crashing does not keep the
// leader's cost after its restart.
func (d *DeletionCost) Clear(ctx context.Context) error {
	return d.set(ctx, "")
}

// set patches the annotation to cost, or removes it when cost is empty.
func (d *DeletionCost) set(ctx context.Context, cost string) error {
	var value any // JSON null removes the key in a merge patch
	if cost != "" {
		value = cost
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"annotations": map[string]any{DeletionCostAnnotation: value}},
	})
	if err != nil {
		return fmt.Errorf("pod %s/%s: %w", d.Namespace, d.Pod, err)
	}
	_, err = d.Kube.CoreV1().Pods(d.Namespace).Patch(ctx, d.Pod, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		d.log().Debug("pod not found; no deletion cost to set", "pod", d.Pod)
		return nil
	}
	if err != nil {
		return fmt.Errorf("patch pod %s/%s: %w", d.Namespace, d.Pod, err)
	}
	if cost != "" {
		d.log().Info("pod deletion cost set", "pod", d.Pod, "cost", cost)
	} else {
		d.log().Debug("pod deletion cost removed", "pod", d.Pod)
	}
	return nil
}

func (d *DeletionCost) log() *slog.Logger {
	if d.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Log
}
