package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/primus-dev/primus/internal/platform/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the API server's request metrics.
type Metrics struct {
	// Requests counts requests by method, route and status code
	// (primus_api_requests_total).
	Requests *prometheus.CounterVec
	// Duration observes request latency by method and route
	// (primus_api_request_duration_seconds).
	Duration *prometheus.HistogramVec
}

// NewMetrics creates the request metrics and registers them with reg
// (controller-runtime's metrics.Registry in the binary). A nil reg leaves
// them unregistered.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "primus_api_requests_total",
			Help: "API requests by method, route and HTTP status code.",
		}, []string{"method", "path", "code"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "primus_api_request_duration_seconds",
			Help:    "API request latency by method and route.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "path"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.Requests, err = metrics.Register(reg, m.Requests); err != nil {
		return nil, err
	}
	if m.Duration, err = metrics.Register(reg, m.Duration); err != nil {
		return nil, err
	}
	return m, nil
}

// requestInfoKey is the context key of a request's requestInfo.
type requestInfoKey struct{}

// requestInfo carries what inner handlers learn back to instrument.
type requestInfo struct {
	user string
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// instrument wraps next (a ServeMux) to count and time every request and
// log it at debug level. It works on a nil *Metrics too (logging only).
func (m *Metrics) instrument(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		info := &requestInfo{}
		r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
		next.ServeHTTP(rec, r)
		if rec.code == 0 {
			rec.code = http.StatusOK
		}
		// The mux sets r.Pattern on the request it routed, which is r.
		route := routeOf(r)
		elapsed := time.Since(start)
		if m != nil {
			m.Requests.WithLabelValues(r.Method, route, strconv.Itoa(rec.code)).Inc()
			m.Duration.WithLabelValues(r.Method, route).Observe(elapsed.Seconds())
		}
		log.Debug("api request", "method", r.Method, "path", r.URL.Path, "code", rec.code,
			"user", info.user, "duration", elapsed.String())
	})
}
