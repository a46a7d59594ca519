package replica

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
)

// fieldManager names the harness in the managed fields of what it applies.
const fieldManager = "primus-replicas"

// applier applies unstructured objects with server-side apply.
type applier struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
	// namespace is where namespaced objects without a namespace go, as
	// Helm puts them in the release namespace.
	namespace string
}

func newApplier(dyn dynamic.Interface, kube kubernetes.Interface, namespace string) *applier {
	return &applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(kube.Discovery())), namespace: namespace}
}

// resource returns the client of obj's resource, refreshing discovery once
// when the kind is unknown (a CRD applied a moment ago). A namespaced
// object without a namespace is given the applier's (on obj itself).
func (a *applier) resource(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		a.mapper.Reset()
		if m, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			return nil, fmt.Errorf("map %s: %w", gvk, err)
		}
	}
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		return a.dyn.Resource(m.Resource), nil
	}
	if obj.GetNamespace() == "" {
		obj.SetNamespace(a.namespace)
	}
	return a.dyn.Resource(m.Resource).Namespace(obj.GetNamespace()), nil
}

// apply server-side applies obj.
func (a *applier) apply(ctx context.Context, obj *unstructured.Unstructured) error {
	res, err := a.resource(obj)
	if err != nil {
		return err
	}
	if _, err := res.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: fieldManager, Force: true}); err != nil {
		return fmt.Errorf("apply %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	return nil
}

// delete deletes obj; an object already gone is no error.
func (a *applier) delete(ctx context.Context, obj *unstructured.Unstructured) error {
	res, err := a.resource(obj)
	if err != nil {
		return err
	}
	if err := res.Delete(ctx, obj.GetName(), metav1.DeleteOptions{}); ignoreNotFound(err) != nil {
		return fmt.Errorf("delete %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	return nil
}
