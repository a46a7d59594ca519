package platform

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// listeners are the process's sockets, bound before anything else starts:
// a replica that cannot listen fails at once with the address and the
// cause, instead of running (and campaigning) without serving.
type listeners struct {
	api, health, metrics net.Listener // api and metrics are nil when off
}

// Addresses are the bound addresses of a running replica, as written to
// --addresses-file: with port 0 in a bind address the kernel picks the
// port, and the file says which one, so a harness never guesses a port
// another process may take first.
type Addresses struct {
	// API is the API's address; empty when it is off.
	API     string `json:"api,omitempty"`
	Health  string `json:"health"`
	Metrics string `json:"metrics,omitempty"`
	// Management is deprecated: it repeats API, where the management API
	// now listens.
	Management string `json:"management,omitempty"`
}

// bindListeners binds the API, health probe and metrics addresses of o.
// On error nothing stays bound.
func bindListeners(o Options) (*listeners, error) {
	var ls listeners
	apiAddr, apiFlag := o.apiAddress()
	for _, b := range []struct {
		flag, addr string
		dst        *net.Listener
	}{
		{apiFlag, apiAddr, &ls.api},
		{"--health-probe-bind-address", o.HealthProbeBindAddress, &ls.health},
		{"--metrics-bind-address", o.MetricsBindAddress, &ls.metrics},
	} {
		if b.addr == "" || b.addr == "0" {
			continue
		}
		l, err := net.Listen("tcp", b.addr)
		if err != nil {
			ls.close()
			return nil, fmt.Errorf("%s %s: %w", b.flag, b.addr, err)
		}
		*b.dst = l
	}
	return &ls, nil
}

// close closes every bound listener (the servers close theirs on stop;
// closing twice is harmless).
func (ls *listeners) close() {
	for _, l := range []net.Listener{ls.api, ls.health, ls.metrics} {
		if l != nil {
			_ = l.Close()
		}
	}
}

// addresses returns the bound addresses.
func (ls *listeners) addresses() Addresses {
	a := Addresses{Health: ls.health.Addr().String()}
	if ls.api != nil {
		a.API = ls.api.Addr().String()
		a.Management = a.API
	}
	if ls.metrics != nil {
		a.Metrics = ls.metrics.Addr().String()
	}
	return a
}

// writeAddresses writes a as JSON to path, atomically (a reader sees the
// whole file or none).
func writeAddresses(path string, a Addresses) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".addresses-*")
	if err != nil {
		return fmt.Errorf("--addresses-file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("--addresses-file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("--addresses-file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("--addresses-file: %w", err)
	}
	return nil
}

// probes holds the /healthz and /readyz checks. They are served on the
// listener bound at start, by a controller-runtime manager.Server, as the
// manager serves its own probes (which bind only inside NewManager and
// cannot take a listener).
type probes struct {
	healthz, readyz map[string]healthz.Checker
}

func newProbes() *probes {
	return &probes{healthz: map[string]healthz.Checker{}, readyz: map[string]healthz.Checker{}}
}

// addHealthz adds a liveness check; call before the server starts.
func (p *probes) addHealthz(name string, c healthz.Checker) { p.healthz[name] = c }

// addReadyz adds a readiness check; call before the server starts.
func (p *probes) addReadyz(name string, c healthz.Checker) { p.readyz[name] = c }

// server serves the checks on l, with controller-runtime's healthz handler
// and paths (/healthz, /readyz and their /name subpaths).
func (p *probes) server(l net.Listener) *manager.Server {
	mux := http.NewServeMux()
	for path, checks := range map[string]map[string]healthz.Checker{"/healthz": p.healthz, "/readyz": p.readyz} {
		h := http.StripPrefix(path, &healthz.Handler{Checks: checks})
		mux.Handle(path, h)
		mux.Handle(path+"/", h)
	}
	return httpServer("health probe", l, mux)
}

// metricsServer serves controller-runtime's registry (the controller's,
// the workqueue's, the election's and ours) on l at /metrics.
func metricsServer(l net.Listener) *manager.Server {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(ctrlmetrics.Registry, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	return httpServer("metrics", l, mux)
}

// probeShutdownTimeout bounds the drain of the probe and metrics servers.
const probeShutdownTimeout = 5 * time.Second

func httpServer(name string, l net.Listener, h http.Handler) *manager.Server {
	timeout := probeShutdownTimeout
	return &manager.Server{
		Name:            name,
		Listener:        l,
		ShutdownTimeout: &timeout,
		Server: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
		},
	}
}
