//go:build unix

package priority

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/primus-dev/primus/internal/hacheck/render"
	"github.com/primus-dev/primus/internal/hacheck/replica"
	"github.com/primus-dev/primus/internal/testharness/clustertest"
)

const (
	// floodWorkers is the flood's concurrency: far more than the 7 seats
	// of workload-low, so the level queues (see flood).
	floodWorkers = 64
	// floodFor is how long the flood, and the measurement, lasts: several
	// renew deadlines.
	floodFor = 15 * time.Second
	// workloadLow is the built-in priority level of the built-in
	// service-accounts FlowSchema, where every ServiceAccount outside
	// kube-system lands unless a FlowSchema says otherwise.
	workloadLow = "workload-low"
)

// fastTimings are the fastest lease timings the chart allows, as in
// tests/chaos: renewals every second, a 3 s renew deadline.
var fastTimings = []string{
	"leaderElection.leaseDuration=4s", "leaderElection.renewDeadline=3s", "leaderElection.retryPeriod=1s",
}

// TestRenewalsUnderFlood runs one Primus leader and floods the API server
// with Project LISTs as the platform's own ServiceAccount, the user whose
// Lease renewals are measured: with the chart's FlowSchema the renewals go
// to the leader-election level and keep their cadence while workload-low
// queues; without it they queue in workload-low behind the flood, in the
// same flow (service-accounts distinguishes by user), and the leader loses
// the Lease.
func TestRenewalsUnderFlood(t *testing.T) {
	requireEmbedded(t)
	tests := []struct {
		name      string
		namespace string
		// priorityLevel is the chart's leaderElection.priorityLevel; ""
		// renders no FlowSchema.
		priorityLevel string
	}{
		{name: "with the FlowSchema", namespace: "priority-protected", priorityLevel: "leader-election"},
		{name: "without the FlowSchema", namespace: "priority-unprotected", priorityLevel: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := measureUnderFlood(t, tc.namespace, tc.priorityLevel)
			t.Log(m)
			assert.Positive(t, m.inQueueMax, "the flood must queue requests in %s", workloadLow)
			assert.Greater(t, m.floodWaitMean, time.Second, "flood requests wait in %s's queues for longer than the Lease client's timeout (1.5 s) would allow", workloadLow)
			if tc.priorityLevel != "" {
				assert.Equal(t, "primus-"+tc.namespace+"-leader-election", m.leaseSchema, "Lease requests match the chart's FlowSchema")
				assert.Positive(t, m.leaseDispatched, "the API server dispatched Lease requests at %s", tc.priorityLevel)
				assert.Empty(t, m.lost, "the leader keeps the Lease through the flood")
				assert.Less(t, m.maxGap, m.renewDeadline, "every renewal lands within the renew deadline")
				return
			}
			assert.Equal(t, "service-accounts", m.leaseSchema, "without the chart's FlowSchema, Lease requests share the flood's schema")
			assert.NotEmpty(t, m.lost, "starved renewals cost the leader the Lease")
			assert.GreaterOrEqual(t, m.maxGap, m.renewDeadline, "no renewal for a renew deadline")
		})
	}
}

// measurement is what one flood did to the leader's renewals and to the
// API server's priority levels.
type measurement struct {
	renewDeadline time.Duration
	// leaseSchema is the FlowSchema the API server classified a Lease GET
	// of the ServiceAccount into, before the flood.
	leaseSchema, leaseLevel string
	gaps                    []time.Duration
	maxGap, p95Gap          time.Duration
	lost                    []replica.Event
	// answers are the flood's answers by status code (0: no answer).
	answers map[int]int
	// inQueueMax is the most requests seen waiting in workload-low's
	// queues (sampled twice a second); rejected the requests it rejected.
	inQueueMax float64
	rejected   map[string]float64 // by reason
	// rejectedBeforeEnd are workload-low's rejections seen by the last
	// scrape before the flood's end, when its clients give up their
	// queued requests.
	rejectedBeforeEnd float64
	// lowSeats and leaseSeats are the nominal seats of workload-low and
	// of the Lease requests' level; lowSeatsMax workload-low's largest
	// current limit (nominal plus borrowed) during the flood.
	lowSeats, leaseSeats, lowSeatsMax float64
	// probe are the latencies of a Lease GET with the ServiceAccount's
	// token, sent every 500 ms during the flood: what a renewal's read
	// waits.
	probe []time.Duration
	// lostAfter is when the leader lost the Lease, from the flood's start.
	lostAfter time.Duration
	// floodWaitMean is the mean queue wait of workload-low's dispatched
	// requests during the flood; leaseWaitMean that of the chart's
	// FlowSchema (0 without it), leaseDispatched its requests.
	floodWaitMean, leaseWaitMean time.Duration
	leaseDispatched              float64
}

func (m measurement) String() string {
	return fmt.Sprintf("flood %d workers for %s, answers %v (%.1f req/s served); Lease requests: schema %s, level %s (%v nominal seats); "+
		"renewal gaps: %d, max %s, p95 %s (renew deadline %s); leadership lost %d times%s; "+
		"Lease GET probe: %d, median %s, max %s; "+
		"%s (%v nominal seats, up to %v with borrowing): max %v queued, rejected %v (%v before the flood's end), mean queue wait %s; "+
		"Lease requests at the chart's schema: %v dispatched, mean queue wait %s",
		floodWorkers, floodFor, m.answers, float64(total(m.answers)-m.answers[0])/floodFor.Seconds(), m.leaseSchema, m.leaseLevel, m.leaseSeats,
		len(m.gaps), m.maxGap.Round(time.Millisecond), m.p95Gap.Round(time.Millisecond), m.renewDeadline, len(m.lost), lostAfter(m),
		len(m.probe), percentile(m.probe, 0.5).Round(time.Millisecond), slices.Max(append(m.probe, 0)).Round(time.Millisecond),
		workloadLow, m.lowSeats, m.lowSeatsMax, m.inQueueMax, m.rejected, m.rejectedBeforeEnd, m.floodWaitMean.Round(time.Millisecond),
		m.leaseDispatched, m.leaseWaitMean.Round(time.Microsecond))
}

// lostAfter says when the first loss came, or nothing.
func lostAfter(m measurement) string {
	if len(m.lost) == 0 {
		return ""
	}
	return fmt.Sprintf(", first %s into the flood", m.lostAfter.Round(time.Millisecond))
}

// total is the number of answers of every code.
func total(m map[int]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// measureUnderFlood installs the chart in namespace ns with
// leaderElection.priorityLevel=priorityLevel, runs one replica until it
// leads, then floods the API server for floodFor and measures.
func measureUnderFlood(t *testing.T, ns, priorityLevel string) measurement {
	ctx := t.Context()
	kube := testCluster.Clientset()
	set := append([]string{"replicaCount=1", "leaderElection.priorityLevel=" + priorityLevel}, fastTimings...)
	inst, err := replica.Install(ctx, testCluster.RESTConfig(), replica.InstallOptions{
		Render: render.Options{Chart: chartPath(), ReleaseName: "primus", Namespace: ns, Set: set},
	})
	require.NoError(t, err)
	t.Cleanup(func() { clustertest.CloseWithin(t, "uninstall", inst.Close) })
	le := inst.LeaderElection
	require.Equal(t, 3*time.Second, le.RenewDeadline)

	dir := t.TempDir()
	kubeconfig, err := inst.WriteKubeconfig(ctx, dir, time.Hour)
	require.NoError(t, err)
	cfg, err := inst.ReplicaConfig(primusBin, kubeconfig, dir)
	require.NoError(t, err)
	replicas := replica.NewSet(cfg, "primus")
	t.Cleanup(func() {
		clustertest.CloseWithin(t, "stop replicas", replicas.Close)
		if t.Failed() {
			for _, r := range replicas.All() {
				t.Logf("--- log of %s (last 30 lines) ---\n%s", r.Name, r.Tail(30))
			}
		}
	})
	started, err := replicas.Grow(ctx, 1, 90*time.Second)
	require.NoError(t, err)
	leader := started[0]
	require.Eventually(t, func() bool { return len(clustertest.EventsOf(t, leader, replica.Acquired)) > 0 },
		30*time.Second, 100*time.Millisecond, "%s never acquired the Lease", leader.Name)

	token, err := inst.Token(ctx, inst.ServiceAccount, time.Hour)
	require.NoError(t, err)
	admin := testCluster.RESTConfig()
	sa := &rest.Config{Host: admin.Host, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: admin.CAData, CAFile: admin.CAFile}}
	m := measurement{renewDeadline: le.RenewDeadline}
	// The FlowSchema takes effect once the API server's APF controller
	// has seen it; wait for that, so the flood meets the configuration
	// under test.
	wantSchema := "service-accounts"
	if priorityLevel != "" {
		wantSchema = "primus-" + ns + "-leader-election"
	}
	require.Eventually(t, func() bool {
		m.leaseSchema, m.leaseLevel = leaseClassification(t, sa, le.LeaseNamespace, le.LeaseName)
		return m.leaseSchema == wantSchema
	}, 30*time.Second, 200*time.Millisecond, "Lease requests never classified into %s", wantSchema)

	rec, err := watchRenewals(ctx, kube, le.LeaseNamespace, le.LeaseName)
	require.NoError(t, err)
	lease, err := kube.CoordinationV1().Leases(le.LeaseNamespace).Get(ctx, le.LeaseName, metav1.GetOptions{})
	require.NoError(t, err)
	rv, err := parseRV(lease.ResourceVersion)
	require.NoError(t, err)
	f, err := newFlood(sa, floodWorkers, rv)
	require.NoError(t, err)

	before, err := scrapeAPIServer(ctx, kube)
	require.NoError(t, err)
	from := time.Now()
	floodCtx, stop := context.WithTimeout(ctx, floodFor)
	defer stop()
	done := make(chan struct{})
	go func() { defer close(done); f.run(floodCtx) }()
	probed := make(chan []time.Duration)
	go func() { probed <- probeLease(floodCtx, sa, le.LeaseNamespace, le.LeaseName) }()
	low := map[string]string{"priority_level": workloadLow}
	for floodCtx.Err() == nil {
		if s, err := scrapeAPIServer(ctx, kube); err == nil {
			m.rejectedBeforeEnd = s.sum("apiserver_flowcontrol_rejected_requests_total", low) - before.sum("apiserver_flowcontrol_rejected_requests_total", low)
			m.inQueueMax = max(m.inQueueMax, s.sum("apiserver_flowcontrol_current_inqueue_requests", low))
			m.lowSeatsMax = max(m.lowSeatsMax, s.sum("apiserver_flowcontrol_current_limit_seats", low))
		}
		sleep(floodCtx, 500*time.Millisecond)
	}
	<-done
	m.probe = <-probed
	to := time.Now()
	after, err := scrapeAPIServer(ctx, kube)
	require.NoError(t, err)

	m.answers = f.answers()
	m.gaps = rec.gaps(from, to)
	m.maxGap, m.p95Gap = slices.Max(append(m.gaps, 0)), percentile(m.gaps, 0.95)
	for _, e := range clustertest.EventsOf(t, leader, replica.Lost) {
		if !e.Time.Before(from) {
			m.lost = append(m.lost, e)
			if len(m.lost) == 1 {
				m.lostAfter = e.Time.Sub(from)
			}
		}
	}
	delta := func(name string, labels map[string]string) float64 {
		return after.sum(name, labels) - before.sum(name, labels)
	}
	m.rejected = map[string]float64{}
	for _, reason := range []string{"queue-full", "concurrency-limit", "time-out", "cancelled"} {
		if n := delta("apiserver_flowcontrol_rejected_requests_total", map[string]string{"priority_level": workloadLow, "reason": reason}); n > 0 {
			m.rejected[reason] = n
		}
	}
	m.lowSeats = after.sum("apiserver_flowcontrol_nominal_limit_seats", low)
	m.leaseSeats = after.sum("apiserver_flowcontrol_nominal_limit_seats", map[string]string{"priority_level": m.leaseLevel})
	m.floodWaitMean = meanWait(delta, low)
	if priorityLevel != "" {
		lease := map[string]string{"priority_level": priorityLevel, "flow_schema": wantSchema}
		m.leaseDispatched = delta("apiserver_flowcontrol_dispatched_requests_total", lease)
		m.leaseWaitMean = meanWait(delta, lease)
	}
	return m
}

// probeLease GETs Lease ns/name with cfg's identity every 500 ms until
// ctx ends and returns the latency of each answered request; a request
// still waiting when ctx ends counts with its wait so far.
func probeLease(ctx context.Context, cfg *rest.Config, ns, name string) []time.Duration {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil
	}
	url := cfg.Host + "/apis/coordination.k8s.io/v1/namespaces/" + ns + "/leases/" + name
	var out []time.Duration
	for ctx.Err() == nil {
		start := time.Now()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return out
		}
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
		}
		out = append(out, time.Since(start))
		sleep(ctx, 500*time.Millisecond)
	}
	return out
}

// meanWait is the mean queue wait of the dispatched requests matching
// labels, from the deltas of apiserver_flowcontrol_request_wait_duration_seconds.
func meanWait(delta func(string, map[string]string) float64, labels map[string]string) time.Duration {
	l := map[string]string{"execute": "true"}
	for k, v := range labels {
		l[k] = v
	}
	n := delta("apiserver_flowcontrol_request_wait_duration_seconds_count", l)
	if n == 0 {
		return 0
	}
	return time.Duration(delta("apiserver_flowcontrol_request_wait_duration_seconds_sum", l) / n * float64(time.Second))
}

// leaseClassification GETs the Lease with cfg's identity and returns the
// names of the FlowSchema and priority level the API server put the
// request in, from its X-Kubernetes-PF-* response headers.
func leaseClassification(t *testing.T, cfg *rest.Config, ns, name string) (schema, level string) {
	t.Helper()
	ctx := t.Context()
	hc, err := rest.HTTPClientFor(cfg)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.Host+"/apis/coordination.k8s.io/v1/namespaces/"+ns+"/leases/"+name, nil)
	require.NoError(t, err)
	resp, err := hc.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	fc := testCluster.Clientset().FlowcontrolV1()
	schemas, err := fc.FlowSchemas().List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	for _, s := range schemas.Items {
		if string(s.UID) == resp.Header.Get("X-Kubernetes-Pf-Flowschema-Uid") {
			schema = s.Name
		}
	}
	levels, err := fc.PriorityLevelConfigurations().List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	for _, l := range levels.Items {
		if string(l.UID) == resp.Header.Get("X-Kubernetes-Pf-Prioritylevel-Uid") {
			level = l.Name
		}
	}
	return schema, level
}

func parseRV(s string) (int64, error) {
	var rv int64
	if _, err := fmt.Sscan(s, &rv); err != nil {
		return 0, fmt.Errorf("resource version %q: %w", s, err)
	}
	return rv, nil
}
