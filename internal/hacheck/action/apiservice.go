package action

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/primus-dev/primus/internal/hacheck/progress"
	"github.com/primus-dev/primus/internal/hacheck/render"
)

// apiServices is the aggregator's resource (read with the dynamic client:
// the project does not depend on k8s.io/kube-aggregator).
var apiServices = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// WaitAPIServiceAvailable waits until the aggregator reports APIService
// name Available (it has reached a backend's discovery document), or
// timeout, then returns an error with its last condition.
func WaitAPIServiceAvailable(ctx context.Context, cfg *rest.Config, name string, timeout time.Duration) error {
	c, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	last := "not found"
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		svc, err := c.Resource(apiServices).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		conditions, _, _ := unstructured.NestedSlice(svc.Object, "status", "conditions")
		for _, raw := range conditions {
			cond, _ := raw.(map[string]any)
			if cond["type"] == "Available" {
				last = fmt.Sprintf("%v %v: %v", cond["status"], cond["reason"], cond["message"])
				return cond["status"] == "True", nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("APIService %s not Available after %s (last: %s): %w", name, timeout, last, err)
	}
	return nil
}

// waitAPIServices waits until every APIService of the release is
// Available, so that what Serve prints works at once.
func waitAPIServices(ctx context.Context, cfg *rest.Config, objs []render.Object, timeout time.Duration, prog *progress.Printer) error {
	for _, o := range render.Find(objs, "APIService") {
		prog.Step("waiting for APIService %s to be Available", o.GetName())
		if err := WaitAPIServiceAvailable(ctx, cfg, o.GetName(), timeout); err != nil {
			return err
		}
	}
	return nil
}
