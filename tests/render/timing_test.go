package render

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/primus-dev/primus/internal/hacheck/render"
	"github.com/primus-dev/primus/internal/platform/leader/timing"
)

// TestTemplateTimingIsTheBinarysRule: the chart's _validate.tpl refuses a
// lease timing exactly when timing.Lease.Validate (the binary's and the
// lease-timing rule's check, client-go's rule) refuses it.
func TestTemplateTimingIsTheBinarysRule(t *testing.T) {
	cases := []struct{ lease, renew, retry string }{
		{"15s", "10s", "2s"},
		{"4s", "3s", "1s"},
		{"15s", "15s", "2s"},
		{"15s", "20s", "2s"},
		{"3s", "2s", "1800ms"},
		{"3s", "2160ms", "1800ms"},
		{"3s", "2161ms", "1800ms"},
		{"15s", "12s", "10s"},
		{"15s", "12001ms", "10s"},
		{"1m", "40s", "15s"},
		{"137s", "107s", "26s"},
		{"2s", "1s", "1s"},
		{"3s", "2s", "1s"},
		{"2999ms", "2s", "1s"},
		{"10500ms", "10s", "2s"},
		{"1h", "59m", "49m"},
		{"1h", "59m", "50m"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%s/%s", tc.lease, tc.renew, tc.retry), func(t *testing.T) {
			_, renderErr := render.Render(render.Options{Chart: chartPath(t), ReleaseName: "primus", Namespace: "primus-system", Set: []string{
				"replicaCount=3", "terminationGracePeriodSeconds=7200",
				"leaderElection.leaseDuration=" + tc.lease, "leaderElection.renewDeadline=" + tc.renew, "leaderElection.retryPeriod=" + tc.retry,
			}})
			goErr := timing.Lease{LeaseDuration: mustDuration(t, tc.lease), RenewDeadline: mustDuration(t, tc.renew), RetryPeriod: mustDuration(t, tc.retry)}.ValidateMargin(timing.MinLeaseMargin, timing.PrimusFlags)
			assert.Equal(t, goErr == nil, renderErr == nil, "Go says %v, the template says %v", goErr, renderErr)
		})
	}
}

func mustDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
