package bench

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/primus-dev/primus/internal/hacheck/failover"
	"github.com/primus-dev/primus/internal/hacheck/render"
)

// leaseSettings are the lease timings BenchmarkFailover compares: the
// chart's defaults, and the fastest the chart allows that we recommend
// (the Lease counts whole seconds, and the binary wants the renew
// deadline above 1.2 retry periods).
var leaseSettings = []struct {
	name string
	set  []string
}{
	{name: "default-15s-10s-2s"},
	{name: "fast-4s-3s-1s", set: []string{"leaderElection.leaseDuration=4s", "leaderElection.renewDeadline=3s", "leaderElection.retryPeriod=1s"}},
}

// BenchmarkFailover measures leader handover with internal/hacheck/failover on
// the embedded cluster: three replicas of the chart's Deployment, and per
// iteration one round of each mode (kill -9, SIGTERM, SIGSTOP for longer
// than the lease duration then SIGCONT). It reports, per lease setting and
// mode, the median time to a new Lease holder and to a Project created
// right after the signal being reconciled, and the rounds that broke a
// promise (two leaders at once, a lost Project, a bound), without failing
// on them: the chaos suite does that.
func BenchmarkFailover(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Minute)
	defer cancel()
	c, bin := startReplicaCluster(ctx, b, "bench-failover")
	for _, ls := range leaseSettings {
		b.Run(ls.name, func(b *testing.B) {
			s, err := failover.Start(ctx, failover.Options{
				Render:  render.Options{Chart: chartPath(), ReleaseName: "primus", Namespace: "bench-" + ls.name, Set: ls.set},
				Cluster: c,
				Binary:  bin,
			})
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				if err := s.Close(context.Background()); err != nil {
					b.Error(err)
				}
			}()
			for b.Loop() {
				for _, mode := range failover.AllModes {
					if _, err := s.Round(ctx, mode); err != nil && !errors.Is(err, failover.ErrUnsettled) {
						b.Fatal(err)
					}
				}
			}
			reportFailover(b, s.Report(ctx, failover.AllModes))
		})
	}
}

// reportFailover reports the medians per mode and logs the full report.
func reportFailover(b *testing.B, rep *failover.Report) {
	failed := 0
	for _, r := range rep.Rounds {
		if len(r.Violations) > 0 {
			failed++
		}
	}
	for _, s := range rep.Summary {
		b.ReportMetric(s.TimeToLeader.Median.D().Seconds(), "s/"+string(s.Mode)+"-to-leader")
		b.ReportMetric(s.TimeToReconcile.Median.D().Seconds(), "s/"+string(s.Mode)+"-to-reconcile")
		b.ReportMetric(float64(s.SplitBrainRounds), string(s.Mode)+"-split-brain-rounds")
	}
	b.ReportMetric(float64(failed), "failed-rounds")
	var text bytes.Buffer
	if err := failover.WriteText(&text, rep); err == nil {
		b.Logf("\n%s", text.String())
	}
}
