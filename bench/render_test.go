package bench

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/gruntwork-io/terratest/modules/helm"
	"github.com/gruntwork-io/terratest/modules/logger"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/hacheck/invariants"
	"github.com/primus-dev/primus/internal/hacheck/render"
)

// BenchmarkRenderMatrix renders the 100-case matrix like for like: the
// Helm SDK in-process and the helm CLI one process per case (what
// terratest's helm.RenderTemplate does), each doing the same work, render
// only and render + check (hacheck's invariants on the decoded objects).
// The SDK runs twice: loading the chart for every case, as a CLI process
// must, and loading it once (what hacheck check --matrix does). It reports
// cases/second for each.
func BenchmarkRenderMatrix(b *testing.B) {
	cases := renderMatrix()
	check := func(b *testing.B, objs []render.Object) {
		if _, err := invariants.Check(objs, invariants.Expectation{}); err != nil {
			b.Fatal(err)
		}
	}
	for _, withCheck := range []bool{false, true} {
		work := "render"
		if withCheck {
			work = "render+check"
		}
		b.Run("sdk-chart-per-case/"+work, func(b *testing.B) {
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				for _, c := range cases {
					res, err := render.Render(render.Options{Chart: chartPath(), ReleaseName: "primus", Namespace: "bench", Set: setFlags(c.set)})
					if err != nil {
						b.Fatalf("%s: %v", c.name, err)
					}
					if withCheck {
						check(b, res.Objects)
					}
				}
			}
			b.ReportMetric(float64(b.N*len(cases))/time.Since(start).Seconds(), "cases/s")
		})
		b.Run("sdk-chart-once/"+work, func(b *testing.B) {
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
					if withCheck {
						check(b, res.Objects)
					}
				}
			}
			b.ReportMetric(float64(b.N*len(cases))/time.Since(start).Seconds(), "cases/s")
		})
		b.Run("helm-cli/"+work, func(b *testing.B) {
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
					out, err := helm.RenderTemplateE(b, opts, chartPath(), "primus", nil, "--namespace", "bench")
					if err != nil {
						b.Fatalf("%s: %v", c.name, err)
					}
					if withCheck {
						objs, err := render.Decode(out)
						if err != nil {
							b.Fatalf("%s: %v", c.name, err)
						}
						check(b, objs)
					}
				}
			}
			b.ReportMetric(float64(b.N*len(cases))/time.Since(start).Seconds(), "cases/s")
		})
	}
}
