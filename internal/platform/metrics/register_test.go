package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegisterReturnsTheExistingCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	opts := prometheus.CounterOpts{Name: "primus_test_total", Help: "test"}
	first, err := Register(reg, prometheus.NewCounter(opts))
	require.NoError(t, err)
	second, err := Register(reg, prometheus.NewCounter(opts))
	require.NoError(t, err)
	assert.Same(t, first, second, "the second registration reuses the first collector")

	_, err = Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "primus_test_total", Help: "clash"}))
	assert.Error(t, err, "a different collector type under the same name is an error")
}
