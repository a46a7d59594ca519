package failover

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/internal/hacheck/render"
)

// TestTimingsFromTheRenderedDeployment reads the lease timings and the
// shutdown delay the way Run does, from charts/primus.
func TestTimingsFromTheRenderedDeployment(t *testing.T) {
	chart := filepath.Join("..", "..", "..", "charts", "primus")
	s := func(d time.Duration) Seconds { return Seconds(d) }
	tests := []struct {
		name    string
		set     []string
		want    Timings
		wantErr string
	}{
		{name: "chart defaults", set: []string{"replicaCount=3"},
			want: Timings{LeaseDuration: s(15 * time.Second), RenewDeadline: s(10 * time.Second), RetryPeriod: s(2 * time.Second), ShutdownDelay: s(5 * time.Second)}},
		{name: "fast timings, no delay", set: []string{"replicaCount=3", "leaderElection.leaseDuration=4s", "leaderElection.renewDeadline=3s", "leaderElection.retryPeriod=1s", "shutdownDelaySeconds=0"},
			want: Timings{LeaseDuration: s(4 * time.Second), RenewDeadline: s(3 * time.Second), RetryPeriod: s(time.Second)}},
		{name: "no leader election", set: []string{"replicaCount=1", "leaderElection.enabled=false", "strategy.type=Recreate"},
			wantErr: "there is no leader to fail over"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := renderTimings(render.Options{Chart: chart, ReleaseName: "primus", Namespace: "primus-failover", Set: tc.set})
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.True(t, render.IsInputError(err), "bad input: %v", err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
