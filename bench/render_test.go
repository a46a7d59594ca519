package bench

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/gruntwork-io/terratest/modules/helm"
	"github.com/gruntwork-io/terratest/modules/logger"

	"primus.dev/primus/internal/cluster"
	"primus.dev/primus/internal/invariants"
	"primus.dev/primus/internal/render"
)

// BenchmarkRenderMatrix renders the 100-case matrix in-process with the
// Helm SDK (what hacheck check --matrix does: one chart load, then render
// and check each case) and with the helm CLI one process per case (what
// terratest's helm.RenderTemplate does), and reports cases/second for both.
func BenchmarkRenderMatrix(b *testing.B) {
	cases := renderMatrix()
	b.Run("sdk", func(b *testing.B) {
		ch, err := render.LoadChart(chartPath())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		start := time.Now()
		for b.Loop() {
			for _, c := range cases {
				res, err := render.RenderChart(ch, render.Options{ReleaseName: "primus", Namespace: "bench", Set: setFlags(c.set)})
				if err != nil {
					b.Fatalf("%s: %v", c.name, err)
				}
				if _, err := invariants.Check(res.Objects, invariants.Expectation{}); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N*len(cases))/time.Since(start).Seconds(), "cases/s")
	})
	b.Run("helm-cli", func(b *testing.B) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		defer cancel()
		bins, err := cluster.EnsureBinaries(ctx, cluster.BinaryOptions{Log: os.Stderr})
		if err != nil {
			b.Fatal(err)
		}
		b.Setenv("PATH", bins.PATH())
		start := time.Now()
		for b.Loop() {
			for _, c := range cases {
				opts := &helm.Options{SetValues: c.set, Logger: logger.Discard}
				if _, err := helm.RenderTemplateE(b, opts, chartPath(), "primus", nil, "--namespace", "bench"); err != nil {
					b.Fatalf("%s: %v", c.name, err)
				}
			}
		}
		b.ReportMetric(float64(b.N*len(cases))/time.Since(start).Seconds(), "cases/s")
	})
}
