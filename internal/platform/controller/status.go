package controller

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// setStatus records phase, namespace and the Ready condition for the
// current generation, writing only when something changed.
func (r *Reconciler) setStatus(ctx context.Context, p *primusv1.Project, phase primusv1.ProjectPhase, namespace, reason, message string) error {
	before := p.DeepCopy()
	p.Status.Phase = phase
	p.Status.Namespace = namespace
	p.Status.ObservedGeneration = p.Generation
	ready := metav1.ConditionFalse
	if phase == primusv1.PhaseReady {
		ready = metav1.ConditionTrue
	}
	apimeta.SetStatusCondition(&p.Status.Conditions, metav1.Condition{
		Type:               primusv1.ConditionReady,
		Status:             ready,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: p.Generation,
	})
	if equality.Semantic.DeepEqual(before.Status, p.Status) {
		return nil
	}
	if err := r.Client.Status().Patch(ctx, p, client.MergeFrom(before)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("update status of project %s: %w", p.Name, err))
	}
	return nil
}
