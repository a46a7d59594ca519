package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/primus-dev/primus/internal/hacheck/replica"
	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

var projectsGVR = schema.GroupVersionResource{Group: primusv1.GroupVersion.Group, Version: primusv1.GroupVersion.Version, Resource: primusv1.Resource}

// readyTracker follows, through one list and watch of Projects, which
// Projects named with a prefix are Ready, and when the last of them
// became so. It replaces a full list every second: on 1,000 Projects that
// list cost the API server more than half a second each, competing with
// the backlog it measured, and it only saw the end to the second.
type readyTracker struct {
	prefix string

	mu      sync.Mutex
	ready   map[string]bool
	lastAt  time.Time     // when the count of not-Ready last fell to zero
	changed chan struct{} // closed and replaced on every change
	err     error
}

// trackReady starts a readyTracker for prefix; it runs until ctx ends.
func trackReady(ctx context.Context, cfg *rest.Config, prefix string) (*readyTracker, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	t := &readyTracker{prefix: prefix, ready: map[string]bool{}, changed: make(chan struct{})}
	res := dyn.Resource(projectsGVR)
	list, err := res.List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	for i := range list.Items {
		t.saw(&list.Items[i])
	}
	go t.run(ctx, res, list.GetResourceVersion())
	return t, nil
}

// run watches from rv, and lists and watches again when a watch ends.
func (t *readyTracker) run(ctx context.Context, res dynamic.ResourceInterface, rv string) {
	for ctx.Err() == nil {
		w, err := res.Watch(ctx, metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
		if err != nil {
			t.fail(fmt.Errorf("watch projects: %w", err))
			return
		}
		for ev := range w.ResultChan() {
			u, ok := ev.Object.(*unstructured.Unstructured)
			if !ok {
				continue
			}
			rv = u.GetResourceVersion()
			switch ev.Type {
			case watch.Added, watch.Modified:
				t.saw(u)
			case watch.Deleted:
				t.forget(u.GetName())
			}
		}
		w.Stop()
		list, err := res.List(ctx, metav1.ListOptions{})
		if err != nil {
			if ctx.Err() == nil {
				t.fail(fmt.Errorf("list projects: %w", err))
			}
			return
		}
		for i := range list.Items {
			t.saw(&list.Items[i])
		}
		rv = list.GetResourceVersion()
	}
}

func (t *readyTracker) saw(u *unstructured.Unstructured) {
	if !strings.HasPrefix(u.GetName(), t.prefix) {
		return
	}
	var p primusv1.Project
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &p); err != nil {
		t.fail(fmt.Errorf("decode project %s: %w", u.GetName(), err))
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	was, known := t.ready[p.Name]
	now := replica.ProjectReady(&p)
	t.ready[p.Name] = now
	if now && (!was || !known) && t.notReadyLocked() == 0 {
		t.lastAt = time.Now()
	}
	t.notifyLocked()
}

func (t *readyTracker) forget(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.ready, name)
	t.notifyLocked()
}

func (t *readyTracker) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.err = err
	t.notifyLocked()
}

func (t *readyTracker) notifyLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

func (t *readyTracker) notReadyLocked() int {
	n := 0
	for _, r := range t.ready {
		if !r {
			n++
		}
	}
	return n
}

// wait waits until at least want Projects are known and all are Ready,
// and returns when the last became Ready.
func (t *readyTracker) wait(ctx context.Context, want int, timeout time.Duration) (time.Time, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		t.mu.Lock()
		known, notReady, at, err, ch := len(t.ready), t.notReadyLocked(), t.lastAt, t.err, t.changed
		t.mu.Unlock()
		switch {
		case err != nil:
			return time.Time{}, err
		case known >= want && notReady == 0:
			return at, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-deadline.C:
			return time.Time{}, fmt.Errorf("%d of %d projects not Ready after %s", notReady+max(want-known, 0), want, timeout)
		}
	}
}
