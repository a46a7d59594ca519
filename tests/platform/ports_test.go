//go:build unix

package platform

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/internal/hacheck/replica"
	"github.com/primus-dev/primus/internal/platform"
)

// TestReplicasStartedAtOnceNeverShareAPort starts many replicas at once,
// several times: every one must bind its own ports and become Ready (no
// "address already in use", no replica waiting on a port another took).
func TestReplicasStartedAtOnceNeverShareAPort(t *testing.T) {
	requireCluster(t)
	const rounds, perRound = 4, 6
	inst := install(t, "primus-ports", append([]string{"replicaCount=3"}, testTimings...))
	for round := range rounds {
		set := startSet(t, inst, "ports")
		var wg sync.WaitGroup
		errs := make([]error, perRound)
		started := make([]*replica.Replica, perRound)
		for i := range perRound {
			wg.Go(func() { started[i], errs[i] = set.Add(t.Context()) })
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err, "round %d", round)
		}
		require.NoError(t, replica.WaitReady(t.Context(), started, time.Minute), "round %d", round)
		ports := map[string]string{}
		for _, r := range started {
			for _, base := range []string{r.API, r.Health, r.Metrics} {
				u, err := url.Parse(base)
				require.NoError(t, err)
				other, taken := ports[u.Port()]
				assert.False(t, taken, "round %d: port %s of %s also belongs to %s", round, u.Port(), r.Name, other)
				ports[u.Port()] = r.Name
			}
			assert.Empty(t, grepLog(t, r, "address already in use"), r.Name)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		require.NoError(t, set.Close(ctx))
		cancel()
	}
}

// TestReplicaThatCannotServeExitsAtOnce: the API server fails after the
// manager started (its certificate is unreadable); the process must log
// one error naming the address and the cause and exit 1, well within the
// graceful stop budget, instead of running on without an API.
func TestReplicaThatCannotServeExitsAtOnce(t *testing.T) {
	requireCluster(t)
	inst := install(t, "primus-unservable", append([]string{"replicaCount=1"}, testTimings...))
	certs := t.TempDir()
	for _, f := range []string{"tls.crt", "tls.key"} {
		require.NoError(t, os.WriteFile(filepath.Join(certs, f), []byte("not PEM"), 0o600))
	}
	set := startSet(t, inst, "unservable")
	cfg := set.Config()
	cfg.Args = append(cfg.Args, "--tls-cert-dir="+certs)
	r, err := replica.Start(t.Context(), cfg, "unservable-0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close(context.Background()) })

	ctx, cancel := context.WithTimeout(t.Context(), platform.DefaultShutdownTimeout/2)
	defer cancel()
	code, err := r.Wait(ctx)
	require.NoError(t, err, "a replica whose API cannot serve must exit; log:\n%s", r.Tail(30))
	assert.Equal(t, 1, code)
	t.Logf("exited %s after start", r.ExitedAt().Sub(r.Started()))

	lines, err := r.Log()
	require.NoError(t, err)
	u, err := url.Parse(r.API)
	require.NoError(t, err)
	// client-go may log its own "context canceled" while it stops; the
	// reason is one line, naming the address and the cause.
	var reasons []replica.LogLine
	for _, l := range lines {
		if l.Level == "ERROR" && strings.Contains(l.String("err"), u.Host) {
			reasons = append(reasons, l)
		}
	}
	require.Len(t, reasons, 1, "one error line naming %s; log:\n%s", u.Host, r.Tail(30))
	assert.Equal(t, "primus failed", reasons[0].Msg)
	assert.Equal(t, "api server on "+u.Host+": certificate in "+certs+": tls: failed to find any PEM data in certificate input", reasons[0].String("err"))
}
