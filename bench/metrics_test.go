package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// MetricsDirEnv names the environment variable that makes
// BenchmarkPlatform write, after each backlog, the kube-apiserver's and
// the leader's /metrics to that directory (workers-N-apiserver.txt,
// workers-N-leader.txt): where the time of a backlog went (request counts
// and latencies by verb and resource, priority-and-fairness queueing,
// etcd latency; reconcile time, errors and workqueue waits).
const MetricsDirEnv = "PRIMUS_BENCH_METRICS_DIR"

// dumpMetrics writes the scrapes MetricsDirEnv asks for; it does nothing
// when the variable is unset.
func (e *platformEnv) dumpMetrics(ctx context.Context, workers int) error {
	dir := os.Getenv(MetricsDirEnv)
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("metrics dir: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	raw, err := e.cluster.Clientset().Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("scrape kube-apiserver: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("workers-%d-apiserver.txt", workers)), raw, 0o644); err != nil {
		return fmt.Errorf("write kube-apiserver metrics: %w", err)
	}
	resp, err := e.leader.Get(ctx, e.leader.Metrics+"/metrics")
	if err != nil {
		return fmt.Errorf("scrape leader: %w", err)
	}
	defer resp.Body.Close()
	if raw, err = io.ReadAll(resp.Body); err != nil {
		return fmt.Errorf("scrape leader: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("workers-%d-leader.txt", workers)), raw, 0o644); err != nil {
		return fmt.Errorf("write leader metrics: %w", err)
	}
	return nil
}
