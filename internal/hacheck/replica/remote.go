package replica

import (
	"crypto/tls"
	"net/http"
	"time"
)

// Remote is a Replica for a process hacheck did not start, such as a Pod's
// container reached through a port-forward: its HTTP methods (Ready, Call,
// Leader, LeaderGauge, ...) work on the given base URLs; the methods about
// the local process (Pid, Signal, Kill, Wait, Close, ...) must not be used.
func Remote(name, api, health, metrics string) *Replica {
	return &Replica{
		Name: name, API: api, Health: health, Metrics: metrics,
		exited: make(chan struct{}),
		http: &http.Client{
			Timeout: 5 * time.Second,
			// The replicas serve a certificate this client cannot verify
			// by name (127.0.0.1 through the port-forward).
			Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // the caller authenticates with a token, not the server
		},
	}
}
