//go:build unix

package priority

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/kubernetes"
)

// apfMetrics is one scrape of the kube-apiserver's /metrics.
type apfMetrics map[string]*dto.MetricFamily

// scrapeAPIServer reads the API server's /metrics with the admin client
// (system:masters is exempt from priority and fairness, so the scrape
// never waits behind a flood).
func scrapeAPIServer(ctx context.Context, kube kubernetes.Interface) (apfMetrics, error) {
	raw, err := kube.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("scrape api server: %w", err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("scrape api server: %w", err)
	}
	return apfMetrics(fams), nil
}

// sum adds up the samples of family name whose labels include labels: a
// counter's or gauge's value, a histogram's sample sum (or, for a name
// ending in _count, its sample count).
func (m apfMetrics) sum(name string, labels map[string]string) float64 {
	count := false
	f, ok := m[name]
	if !ok {
		if base, cut := strings.CutSuffix(name, "_count"); cut {
			f, count = m[base], true
		} else if base, cut := strings.CutSuffix(name, "_sum"); cut {
			f = m[base]
		}
	}
	if f == nil {
		return 0
	}
	var total float64
	for _, s := range f.GetMetric() {
		if !hasLabels(s, labels) {
			continue
		}
		switch {
		case s.Counter != nil:
			total += s.GetCounter().GetValue()
		case s.Gauge != nil:
			total += s.GetGauge().GetValue()
		case s.Histogram != nil && count:
			total += float64(s.GetHistogram().GetSampleCount())
		case s.Histogram != nil:
			total += s.GetHistogram().GetSampleSum()
		}
	}
	return total
}

// hasLabels reports whether sample s carries every label of want.
func hasLabels(s *dto.Metric, want map[string]string) bool {
	have := map[string]string{}
	for _, l := range s.GetLabel() {
		have[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
