package mgmtapi

import (
	"sync"

	"k8s.io/apimachinery/pkg/watch"

	mgmtv1 "github.com/primus-dev/primus/internal/platform/apis/management/v1alpha1"
	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// filteredWatch is a CRD watch seen through a filter: events of Projects
// the caller does not see are dropped, and a Project the caller stops
// seeing (their membership went, or it stopped matching the selectors)
// arrives as Deleted, as the API server's own watch reports objects that
// leave a selector. It knows only the Projects this watch has shown: one
// the caller saw in an earlier list and that leaves their view before this
// watch shows it is dropped, not Deleted.
type filteredWatch struct {
	upstream watch.Interface
	filter   filter
	out      chan watch.Event
	stop     chan struct{}
	once     sync.Once
}

func newFilteredWatch(upstream watch.Interface, f filter) *filteredWatch {
	w := &filteredWatch{upstream: upstream, filter: f, out: make(chan watch.Event), stop: make(chan struct{})}
	go w.run()
	return w
}

// ResultChan returns the filtered events; it closes when the upstream
// watch ends or Stop is called.
func (w *filteredWatch) ResultChan() <-chan watch.Event { return w.out }

// Stop ends the watch and its upstream.
func (w *filteredWatch) Stop() {
	w.once.Do(func() {
		close(w.stop)
		w.upstream.Stop()
	})
}

func (w *filteredWatch) run() {
	defer close(w.out)
	defer w.upstream.Stop()
	shown := map[string]bool{}
	for {
		var ev watch.Event
		var ok bool
		select {
		case <-w.stop:
			return
		case ev, ok = <-w.upstream.ResultChan():
			if !ok {
				return
			}
		}
		out, send := w.convert(ev, shown)
		if !send {
			continue
		}
		select {
		case <-w.stop:
			return
		case w.out <- out:
		}
	}
}

// convert returns the event the caller gets for ev, if any, and records
// in shown which Projects the caller has been shown.
func (w *filteredWatch) convert(ev watch.Event, shown map[string]bool) (watch.Event, bool) {
	p, ok := ev.Object.(*primusv1.Project)
	if !ok {
		// An Error event carries a Status; pass it on.
		return ev, ev.Type == watch.Error
	}
	if ev.Type == watch.Bookmark {
		// Only the resource version (and the initial-events-end
		// annotation) of a bookmark count.
		b := &mgmtv1.Project{}
		b.APIVersion, b.Kind = mgmtv1.SchemeGroupVersion.String(), "Project"
		b.ResourceVersion, b.Annotations = p.ResourceVersion, p.Annotations
		return watch.Event{Type: watch.Bookmark, Object: b}, true
	}
	v, visible := w.filter.view(p)
	was := shown[p.Name]
	switch {
	case ev.Type == watch.Deleted:
		delete(shown, p.Name)
		if !visible && !was {
			return ev, false
		}
		if v == nil {
			v = toView(p, RoleOf(p, w.filter.user))
		}
		return watch.Event{Type: watch.Deleted, Object: v}, true
	case visible:
		shown[p.Name] = true
		return watch.Event{Type: ev.Type, Object: v}, true
	case was:
		delete(shown, p.Name)
		return watch.Event{Type: watch.Deleted, Object: toView(p, RoleOf(p, w.filter.user))}, true
	}
	return ev, false
}
