package leader

import (
	"github.com/primus-dev/primus/internal/platform/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the leadership metrics of one replica.
type Metrics struct {
	// Leader is 1 while this replica leads, else 0 (primus_leader).
	Leader prometheus.Gauge
	// Transitions counts this replica's changes of leadership, gained or
	// given up (primus_leader_transitions_total).
	Transitions prometheus.Counter
}

// NewMetrics creates the leadership metrics and registers them with reg
// (controller-runtime's metrics.Registry in the binary). A nil reg leaves
// them unregistered, for tests.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "primus_leader",
			Help: "1 while this replica holds the leader Lease and runs the controllers, else 0.",
		}),
		Transitions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "primus_leader_transitions_total",
			Help: "Times this replica became or stopped being the leader.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.Leader, err = metrics.Register(reg, m.Leader); err != nil {
		return nil, err
	}
	if m.Transitions, err = metrics.Register(reg, m.Transitions); err != nil {
		return nil, err
	}
	return m, nil
}
