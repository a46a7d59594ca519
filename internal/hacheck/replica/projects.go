package replica

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// projectsGVR is the Project resource.
var projectsGVR = schema.GroupVersionResource{Group: primusv1.GroupVersion.Group, Version: primusv1.GroupVersion.Version, Resource: primusv1.Resource}

// Project reads Project name with the admin client.
func (i *Installation) Project(ctx context.Context, name string) (*primusv1.Project, error) {
	u, err := i.dyn.Resource(projectsGVR).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get project %s: %w", name, err)
	}
	var p primusv1.Project
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &p); err != nil {
		return nil, fmt.Errorf("decode project %s: %w", name, err)
	}
	return &p, nil
}

// Projects lists every Project with the admin client.
func (i *Installation) Projects(ctx context.Context) ([]primusv1.Project, error) {
	list, err := i.dyn.Resource(projectsGVR).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	out := make([]primusv1.Project, len(list.Items))
	for n, u := range list.Items {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &out[n]); err != nil {
			return nil, fmt.Errorf("decode project %s: %w", u.GetName(), err)
		}
	}
	return out, nil
}

// ProjectReady reports whether the controller has reconciled p's current
// generation to Ready.
func ProjectReady(p *primusv1.Project) bool {
	return p.Status.Phase == primusv1.PhaseReady && p.Status.ObservedGeneration == p.Generation
}

// WaitProjectReady polls Project name every interval until ProjectReady,
// and returns it and when it was first seen Ready.
func (i *Installation) WaitProjectReady(ctx context.Context, name string, interval, timeout time.Duration) (*primusv1.Project, time.Time, error) {
	var p *primusv1.Project
	var last error
	err := wait.PollUntilContextTimeout(ctx, interval, timeout, true, func(ctx context.Context) (bool, error) {
		p, last = i.Project(ctx, name)
		return last == nil && ProjectReady(p), nil
	})
	seen := time.Now()
	if err != nil {
		if last == nil && p != nil {
			last = fmt.Errorf("status %+v", p.Status)
		}
		return p, seen, fmt.Errorf("project %s never Ready within %s: %v", name, timeout, last)
	}
	return p, seen, nil
}

// DeleteProjects removes the Projects called names and their namespaces
// without waiting for the controller: it strips the cleanup finalizer and
// deletes both, so that a failed run leaves nothing that blocks the next.
func (i *Installation) DeleteProjects(ctx context.Context, names []string) error {
	var errs []error
	res := i.dyn.Resource(projectsGVR)
	for _, name := range names {
		_, err := res.Patch(ctx, name, types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
		errs = append(errs, ignoreNotFound(err))
		errs = append(errs, ignoreNotFound(res.Delete(ctx, name, metav1.DeleteOptions{})))
		errs = append(errs, ignoreNotFound(i.kube.CoreV1().Namespaces().Delete(ctx, primusv1.NamespaceName(name), metav1.DeleteOptions{})))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete projects: %w", err)
	}
	return nil
}
