//go:build unix

package priority

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"k8s.io/client-go/rest"
)

// flood is a load generator: workers clients loop on one request each,
// as the platform's ServiceAccount, until the flood's context ends.
//
// The request is a LIST of Projects at a resourceVersion a million ahead
// of the cluster's, with resourceVersionMatch=NotOlderThan: the API
// server's watch cache holds it for 3 s waiting to catch up and then
// answers 504 (too large resource version). Each one keeps a seat of its
// priority level busy for those 3 s without using the CPU, which is what
// a slow request (a big LIST, a slow webhook, a busy etcd) does to the
// level on a loaded cluster, at a rate a shared 2-core machine can send.
type flood struct {
	// workers is the number of concurrent clients.
	workers int
	// path is the request (GET).
	path string

	cfg *rest.Config
	hc  *http.Client

	mu    sync.Mutex
	codes map[int]int // answers by status code; 0 for errors
}

// newFlood returns a flood of workers clients with the identity of cfg
// (a ServiceAccount token config) that LIST Projects ahead of rv.
func newFlood(cfg *rest.Config, workers int, rv int64) (*flood, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("flood client: %w", err)
	}
	path := "/apis/primus.dev/v1alpha1/projects?resourceVersionMatch=NotOlderThan&resourceVersion=" + strconv.FormatInt(rv+1_000_000, 10)
	return &flood{workers: workers, path: path, cfg: cfg, hc: hc, codes: map[int]int{}}, nil
}

// run sends requests from every worker until ctx ends, and returns when
// the last one has returned.
func (f *flood) run(ctx context.Context) {
	var wg sync.WaitGroup
	for range f.workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				f.count(f.send(ctx))
			}
		})
	}
	wg.Wait()
}

// send sends one request and returns its status code, 0 for a transport
// error. A 429 (priority and fairness rejected it) waits for its
// Retry-After, as client-go does, so the flood never spins.
func (f *flood) send(ctx context.Context) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.cfg.Host+f.path, nil)
	if err != nil {
		return 0
	}
	resp, err := f.hc.Do(req)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			sleep(ctx, 100*time.Millisecond)
		}
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests {
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		sleep(ctx, time.Duration(max(secs, 1))*time.Second)
	}
	return resp.StatusCode
}

// count records one answer; a request cut off by the end of the flood is
// not one.
func (f *flood) count(code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.codes[code]++
}

// answers returns the answers so far by status code.
func (f *flood) answers() map[int]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[int]int, len(f.codes))
	for k, v := range f.codes {
		out[k] = v
	}
	return out
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
