//go:build linux

package aggregation

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// benchRound is the requests of one BenchmarkAggregatedAPI round, each op
// in turn: a get of one Project, a list, a create.
const benchRound = 30

// benchLoad is the client concurrency and duration of the throughput
// phase that follows the rounds.
const (
	benchWorkers  = 8
	benchLoadTime = 5 * time.Second
)

// BenchmarkAggregatedAPI measures the management API as kubectl reaches
// it, through the kube-apiserver's aggregator, with 1 and 3 replicas: per
// round (one b.Loop iteration) benchRound sequential requests as user
// alice (get, list, create in turn), reporting p50 and p95 of each op as
// the client sees it; then benchWorkers clients list for benchLoadTime,
// reporting requests/s in all and per replica. Run:
//
//	go test ./tests/aggregation -run '^$' -bench BenchmarkAggregatedAPI -benchtime 10x -count 1 -timeout 30m
func BenchmarkAggregatedAPI(b *testing.B) {
	for _, replicas := range []int{1, 3} {
		b.Run(fmt.Sprintf("replicas=%d", replicas), func(b *testing.B) {
			p := installPlatform(b, replicas)
			grant(b, "agg-bench-"+p.ns, "alice")
			p.waitReady(b, replicas)
			alice := as(b, "alice")
			ctx := b.Context()
			fixed := "bench-" + p.ns
			deleteProject(b, fixed)
			if _, err := alice.Create(ctx, project(fixed, map[string]string{"alice": "admin"}), metav1.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
			latencies := map[string][]time.Duration{}
			n := 0
			for b.Loop() {
				for i := range benchRound {
					var op string
					var err error
					start := time.Now()
					switch i % 3 {
					case 0:
						op = "get"
						_, err = alice.Get(ctx, fixed, metav1.GetOptions{})
					case 1:
						op = "list"
						_, err = alice.List(ctx, metav1.ListOptions{})
					case 2:
						op = "create"
						name := fmt.Sprintf("bench-%s-%d", p.ns, n)
						n++
						deleteProject(b, name)
						_, err = alice.Create(ctx, project(name, map[string]string{"alice": "admin"}), metav1.CreateOptions{})
					}
					latencies[op] = append(latencies[op], time.Since(start))
					if err != nil {
						b.Fatalf("%s: %v", op, err)
					}
				}
			}
			for _, op := range []string{"get", "list", "create"} {
				b.ReportMetric(percentile(latencies[op], 0.50).Seconds()*1000, op+"-ms-p50")
				b.ReportMetric(percentile(latencies[op], 0.95).Seconds()*1000, op+"-ms-p95")
			}
			rate, failed := listLoad(ctx, b)
			b.ReportMetric(rate, "list-req/s")
			b.ReportMetric(rate/float64(replicas), "list-req/s/replica")
			b.ReportMetric(float64(failed), "list-failed")
		})
	}
}

// listLoad runs benchWorkers clients listing as alice for benchLoadTime
// and returns the rate of successful requests and the count of failed
// ones. The clients have no client-side rate limit (what is measured is
// the servers'), and a request is never cut short by the end of the
// window: the window only decides when each client stops sending.
func listLoad(ctx context.Context, b *testing.B) (perSecond float64, failed int64) {
	var ok, bad atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(benchLoadTime)
	for range benchWorkers {
		alice := asUnthrottled(b, "alice") // a client (and connection pool) each
		wg.Go(func() {
			for time.Now().Before(end) && ctx.Err() == nil {
				if _, err := alice.List(ctx, metav1.ListOptions{}); err != nil {
					bad.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		b.Logf("%d lists failed; the first: %s", bad.Load(), e)
	}
	return float64(ok.Load()) / time.Since(start).Seconds(), bad.Load()
}

// percentile returns the q-quantile of ds (nearest rank).
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}
