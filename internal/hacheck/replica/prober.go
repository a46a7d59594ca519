package replica

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ProbeFailure is one failed API call of a Prober.
type ProbeFailure struct {
	Time    time.Time `json:"time"`
	Replica string    `json:"replica"`
	Error   string    `json:"error"`
}

// ProbeResult is what a Prober saw.
type ProbeResult struct {
	// Calls counts the API calls made.
	Calls int `json:"calls"`
	// Failures are the calls that did not answer 200.
	Failures []ProbeFailure `json:"failures,omitempty"`
}

// Prober is an API client that lists Projects (GET ProjectsPath) on every live
// replica, over and over: the API must stay up on the replicas that keep
// running, whoever leads. A replica is probed once it has been Ready, and
// skipped from the moment it is signalled down (its in-flight call
// finishes first; see Replica.Kill). A call fails after 5 s.
type Prober struct {
	token    string
	interval time.Duration
	replicas func() []*Replica
	cancel   context.CancelFunc
	done     chan struct{}

	mu     sync.Mutex
	result ProbeResult
}

// StartProber starts probing the replicas replicas returns (re-evaluated
// on every tick, so replacements are probed too) every interval, with
// token. The caller must Close it.
func StartProber(replicas func() []*Replica, token string, interval time.Duration) *Prober {
	ctx, cancel := context.WithCancel(context.Background())
	p := &Prober{token: token, interval: interval, replicas: replicas, cancel: cancel, done: make(chan struct{})}
	go p.run(ctx)
	return p
}

func (p *Prober) run(ctx context.Context) {
	defer close(p.done)
	tick := time.NewTicker(p.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, r := range p.replicas() {
			p.probe(ctx, r)
		}
	}
}

// probe calls r once unless it is down.
func (p *Prober) probe(ctx context.Context, r *Replica) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if !r.served.Load() || r.down || r.Exited() || r.API == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := r.ServesAPI(ctx, p.token)
	if err != nil && errors.Is(ctx.Err(), context.Canceled) {
		return // the prober is closing
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.result.Calls++
	if err != nil {
		p.result.Failures = append(p.result.Failures, ProbeFailure{Time: time.Now(), Replica: r.Name, Error: err.Error()})
	}
}

// Result returns what the prober saw so far.
func (p *Prober) Result() ProbeResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	return ProbeResult{Calls: p.result.Calls, Failures: append([]ProbeFailure(nil), p.result.Failures...)}
}

// Close stops probing and returns the result. It is safe to call twice.
func (p *Prober) Close() ProbeResult {
	p.cancel()
	<-p.done
	return p.Result()
}
