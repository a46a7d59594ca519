package controller

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// notStatusOnly drops the update events of Projects and ResourceQuotas
// that change nothing the Reconciler reads: a Project's status (its own
// patch, once per reconcile that changes it) and a ResourceQuota's status
// (kube-controller-manager recounts usage after every create). Each would
// otherwise cost a reconcile that finds nothing to do. Creates, deletes and
// every other update pass.
var notStatusOnly = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	return !statusOnly(e.ObjectOld, e.ObjectNew)
}}

// statusOnly reports whether old and new differ at most in status (and the
// resourceVersion and managedFields that come with every write).
func statusOnly(old, new client.Object) bool {
	if old.GetGeneration() != new.GetGeneration() ||
		!equality.Semantic.DeepEqual(old.GetLabels(), new.GetLabels()) ||
		!equality.Semantic.DeepEqual(old.GetAnnotations(), new.GetAnnotations()) ||
		!slices.Equal(old.GetFinalizers(), new.GetFinalizers()) ||
		!equality.Semantic.DeepEqual(old.GetOwnerReferences(), new.GetOwnerReferences()) ||
		!old.GetDeletionTimestamp().Equal(new.GetDeletionTimestamp()) {
		return false
	}
	switch o := old.(type) {
	case *primusv1.Project:
		n, ok := new.(*primusv1.Project)
		return ok && equality.Semantic.DeepEqual(o.Spec, n.Spec)
	case *corev1.ResourceQuota:
		n, ok := new.(*corev1.ResourceQuota)
		return ok && equality.Semantic.DeepEqual(o.Spec, n.Spec)
	}
	return false
}
