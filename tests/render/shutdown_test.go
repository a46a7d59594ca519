package render

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestShutdownBudget checks that the binary's graceful stop ends early
// enough for the Lease's release (one lease-client request, at most
// max(renewDeadline/2, 1s)) to land before the kubelet's SIGKILL at
// terminationGracePeriodSeconds.
func TestShutdownBudget(t *testing.T) {
	cases := []struct {
		name  string
		set   []string
		grace int64
		want  time.Duration
	}{
		{name: "defaults", grace: 30, want: 20 * time.Second}, // 30 - 5 - 10s/2
		{name: "no shutdown delay kept as 0", set: []string{"shutdownDelaySeconds=0"}, grace: 30, want: 25 * time.Second},
		{name: "short renew deadline: the 1s floor", set: []string{"leaderElection.leaseDuration=3s", "leaderElection.renewDeadline=1500ms", "leaderElection.retryPeriod=500ms", "terminationGracePeriodSeconds=8"}, grace: 8, want: 2 * time.Second},
		{name: "odd renew deadline rounds the release up", set: []string{"leaderElection.leaseDuration=12s", "leaderElection.renewDeadline=7s", "terminationGracePeriodSeconds=60"}, grace: 60, want: 51 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := deployment(t, renderChart(t, tc.set...))
			require.NotNil(t, d.Spec.Template.Spec.TerminationGracePeriodSeconds)
			assert.Equal(t, tc.grace, *d.Spec.Template.Spec.TerminationGracePeriodSeconds)
			timeout, err := time.ParseDuration(argValue(t, d, "shutdown-timeout"))
			require.NoError(t, err)
			assert.Equal(t, tc.want, timeout)
			delay, err := time.ParseDuration(argValue(t, d, "shutdown-delay"))
			require.NoError(t, err)
			renew, err := time.ParseDuration(argValue(t, d, "renew-deadline"))
			require.NoError(t, err)
			release := max(renew/2, time.Second)
			assert.LessOrEqual(t, delay+timeout+release, time.Duration(tc.grace)*time.Second,
				"the release must land before SIGKILL")
		})
	}
}

func TestShutdownBudgetRefusesShortGrace(t *testing.T) {
	cases := []struct {
		name string
		set  []string
		want string
	}{
		{name: "shorter than delay + renew deadline", set: []string{"terminationGracePeriodSeconds=14"}, want: "terminationGracePeriodSeconds: 14 s is shorter than"},
		{name: "no time left for the controllers", set: []string{"leaderElection.leaseDuration=3s", "leaderElection.renewDeadline=1s", "leaderElection.retryPeriod=500ms", "shutdownDelaySeconds=0", "terminationGracePeriodSeconds=1"}, want: "leaves the controllers no time"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Contains(t, renderErr(t, tc.set...).Error(), tc.want)
		})
	}
}
