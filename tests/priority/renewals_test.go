//go:build unix

package priority

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
)

// renewals records the renewTime of every version of one Lease it sees
// through a watch (as the admin, who is exempt from priority and
// fairness, so the recorder never waits behind the flood).
type renewals struct {
	mu    sync.Mutex
	times []time.Time
}

// watchRenewals records the renewals of Lease ns/name until ctx ends.
func watchRenewals(ctx context.Context, kube kubernetes.Interface, ns, name string) (*renewals, error) {
	w, err := kube.CoordinationV1().Leases(ns).Watch(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(),
	})
	if err != nil {
		return nil, fmt.Errorf("watch lease %s/%s: %w", ns, name, err)
	}
	r := &renewals{}
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			if l, ok := ev.Object.(*coordinationv1.Lease); ok && l.Spec.RenewTime != nil {
				r.add(l.Spec.RenewTime.Time)
			}
		}
	}()
	return r, nil
}

func (r *renewals) add(t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.times); n == 0 || t.After(r.times[n-1]) {
		r.times = append(r.times, t)
	}
}

// gaps returns the intervals between renewals that end in [from, to]: the
// first is from the last renewal before from, and a last one runs from
// the last renewal to to (a renewal that never came is a gap too).
func (r *renewals) gaps(from, to time.Time) []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []time.Duration
	prev := time.Time{}
	for _, t := range r.times {
		if t.After(to) {
			break
		}
		if !t.Before(from) && !prev.IsZero() {
			out = append(out, t.Sub(prev))
		}
		prev = t
	}
	if !prev.IsZero() {
		out = append(out, to.Sub(prev))
	}
	return out
}

// percentile returns the p-th percentile (0 < p <= 1, nearest rank) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}
