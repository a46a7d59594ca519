package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/primus-dev/primus/internal/hacheck/failover"
	"github.com/primus-dev/primus/internal/hacheck/render"
)

// takeoverSides are the two electors BenchmarkTakeover compares, both
// cmd/primus with the chart's default 15s/10s/2s: client-go's elector as
// it is (--lease-watch=false: controller-runtime's manager runs client-go's
// unmodified LeaderElector, which polls every retry period), and Primus's
// watch-driven acquisition (the default).
var takeoverSides = []struct {
	name string
	set  []string
}{
	{name: "client-go", set: []string{"leaderElection.watch=false"}},
	{name: "primus", set: nil},
}

// BenchmarkTakeover measures, in one run on one embedded cluster, how fast
// a new leader takes over with client-go's polling elector and with
// Primus's watch-driven acquisition: three replicas per side, the sides'
// rounds interleaved (crash, graceful, pause; one of each per side per
// iteration) so both see the same load. It reports per side and mode the
// median and p95 time to a new Lease holder and to the first reconcile,
// the ratio of the medians (client-go / primus) and the split-brain
// rounds, and prints a Markdown table with min/median/p95/max.
func BenchmarkTakeover(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Minute)
	defer cancel()
	c, bin := startReplicaCluster(ctx, b, "bench-takeover")
	sessions := make([]*failover.Session, len(takeoverSides))
	defer func() {
		for _, s := range sessions {
			if s != nil {
				if err := s.Close(context.Background()); err != nil {
					b.Error(err)
				}
			}
		}
	}()
	for i, side := range takeoverSides {
		var err error
		sessions[i], err = failover.Start(ctx, failover.Options{
			Render:  render.Options{Chart: chartPath(), ReleaseName: "primus", Namespace: "takeover-" + side.name, Set: side.set},
			Cluster: c,
			Binary:  bin,
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		for _, mode := range failover.AllModes {
			for _, s := range sessions {
				if _, err := s.Round(ctx, mode); err != nil && !errors.Is(err, failover.ErrUnsettled) {
					b.Fatal(err)
				}
			}
		}
	}
	reports := make([]*failover.Report, len(sessions))
	for i, s := range sessions {
		reports[i] = s.Report(ctx, failover.AllModes)
	}
	reportTakeover(b, reports)
}

// reportTakeover reports the medians, p95s and ratios and prints the table.
func reportTakeover(b *testing.B, reports []*failover.Report) {
	byMode := func(r *failover.Report, m failover.Mode) failover.ModeSummary {
		for _, s := range r.Summary {
			if s.Mode == m {
				return s
			}
		}
		return failover.ModeSummary{}
	}
	var t strings.Builder
	fmt.Fprintf(&t, "\n| mode | side | rounds | to leader min / median / p95 / max (s) | to first reconcile min / median / p95 / max (s) | split-brain rounds |\n|---|---|---|---|---|---|\n")
	for _, m := range failover.AllModes {
		for i, side := range takeoverSides {
			s := byMode(reports[i], m)
			b.ReportMetric(s.TimeToLeader.Median.D().Seconds(), "s/"+side.name+"-"+string(m)+"-to-leader-median")
			b.ReportMetric(s.TimeToLeader.P95.D().Seconds(), "s/"+side.name+"-"+string(m)+"-to-leader-p95")
			b.ReportMetric(s.TimeToReconcile.Median.D().Seconds(), "s/"+side.name+"-"+string(m)+"-to-reconcile-median")
			b.ReportMetric(float64(s.SplitBrainRounds), side.name+"-"+string(m)+"-split-brain-rounds")
			fmt.Fprintf(&t, "| %s | %s | %d | %s | %s | %d |\n", m, side.name, s.TimeToLeader.N,
				fourStats(s.TimeToLeader), fourStats(s.TimeToReconcile), s.SplitBrainRounds)
		}
		cg, pr := byMode(reports[0], m), byMode(reports[1], m)
		medianRatio := ratio(cg.TimeToLeader.Median.D(), pr.TimeToLeader.Median.D())
		p95Ratio := ratio(cg.TimeToLeader.P95.D(), pr.TimeToLeader.P95.D())
		b.ReportMetric(medianRatio, "x/"+string(m)+"-to-leader-median-ratio")
		fmt.Fprintf(&t, "| %s | ratio client-go / primus | | median %.2fx, p95 %.2fx | median %.2fx | |\n", m, medianRatio, p95Ratio,
			ratio(cg.TimeToReconcile.Median.D(), pr.TimeToReconcile.Median.D()))
	}
	// Printed, not logged: the testing package truncates a benchmark's log.
	fmt.Print(t.String())
}

func fourStats(s failover.Stats) string {
	return fmt.Sprintf("%.2f / %.2f / %.2f / %.2f", s.Min.D().Seconds(), s.Median.D().Seconds(), s.P95.D().Seconds(), s.Max.D().Seconds())
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return a.Seconds() / b.Seconds()
}
