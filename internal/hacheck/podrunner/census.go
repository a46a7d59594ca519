package podrunner

import (
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Census counts the release at one moment, from every Pod event of the
// Runner's watch and every readiness answer of its processes: unlike a
// poll, it misses no dip, however short.
type Census struct {
	// Time is when the counts became what they are.
	Time time.Time
	// ReadyPods counts the Pods that are Running and Ready and not being
	// deleted: what the disruption controller counts as healthy and the
	// Deployment as available.
	ReadyPods int
	// Serving counts the processes that answer their readiness probe and
	// whose Pod is not going (Instance.Serving).
	Serving int
}

// census is the Census history. Guarded by Runner.mu.
type census struct {
	readyPods map[types.UID]bool
	history   []Census
}

// podIsReady reports whether pod counts in Census.ReadyPods.
func podIsReady(pod *corev1.Pod) bool {
	if pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// recordLocked appends a Census when the counts changed.
func (r *Runner) recordLocked() {
	ready, serving := 0, 0
	for _, ok := range r.census.readyPods {
		if ok {
			ready++
		}
	}
	for _, e := range r.entries {
		if e.phase == PhaseRunning && e.ready {
			serving++
		}
	}
	if n := len(r.census.history); n > 0 && r.census.history[n-1].ReadyPods == ready && r.census.history[n-1].Serving == serving {
		return
	}
	r.census.history = append(r.census.history, Census{Time: time.Now(), ReadyPods: ready, Serving: serving})
}

// Census returns every change of the counts so far, oldest first.
func (r *Runner) Census() []Census {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.census.history)
}

// Lowest returns, among the counts in effect between from and to (the
// last Census before from included), the one with the fewest ReadyPods and
// the one with the fewest Serving, the earliest of equals. ok is false
// when no Census was in effect then.
func Lowest(history []Census, from, to time.Time) (ready, serving Census, ok bool) {
	for i, c := range history {
		if c.Time.After(to) {
			break
		}
		if i+1 < len(history) && !history[i+1].Time.After(from) {
			continue // replaced before from
		}
		if !ok {
			ready, serving, ok = c, c, true
			continue
		}
		if c.ReadyPods < ready.ReadyPods {
			ready = c
		}
		if c.Serving < serving.Serving {
			serving = c
		}
	}
	return ready, serving, ok
}

// TimeBelow returns how long, between from and to, count(Census) was
// below n.
func TimeBelow(history []Census, from, to time.Time, count func(Census) int, n int) time.Duration {
	var total time.Duration
	for i, c := range history {
		start := maxTime(c.Time, from)
		end := to
		if i+1 < len(history) && history[i+1].Time.Before(to) {
			end = history[i+1].Time
		}
		if count(c) < n && end.After(start) {
			total += end.Sub(start)
		}
	}
	return total
}
