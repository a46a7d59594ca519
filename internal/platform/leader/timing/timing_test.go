package timing

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// timingCases are lease timings around every edge of client-go's rule.
var timingCases = []struct {
	name                string
	lease, renew, retry time.Duration
	wantErr             string
}{
	{name: "chart defaults", lease: 15 * time.Second, renew: 10 * time.Second, retry: 2 * time.Second},
	{name: "fast failover", lease: 4 * time.Second, renew: 3 * time.Second, retry: time.Second},
	{name: "renew equals lease", lease: 10 * time.Second, renew: 10 * time.Second, retry: 2 * time.Second, wantErr: "must be longer than --renew-deadline"},
	{name: "renew longer than lease", lease: 10 * time.Second, renew: 15 * time.Second, retry: 2 * time.Second, wantErr: "must be longer than --renew-deadline"},
	{name: "retry under renew but above renew/1.2", lease: 3 * time.Second, renew: 2 * time.Second, retry: 1800 * time.Millisecond, wantErr: "1.2 x --retry-period"},
	{name: "renew exactly 1.2 x retry", lease: 15 * time.Second, renew: 12 * time.Second, retry: 10 * time.Second, wantErr: "1.2 x --retry-period"},
	{name: "renew just over 1.2 x retry", lease: 15 * time.Second, renew: 12*time.Second + time.Millisecond, retry: 10 * time.Second},
	{name: "renew 2.16s is 1.2 x retry 1.8s in float arithmetic too", lease: 3 * time.Second, renew: 2160 * time.Millisecond, retry: 1800 * time.Millisecond, wantErr: "1.2 x --retry-period"},
	{name: "renew 2.161s over 1.2 x retry 1.8s", lease: 3 * time.Second, renew: 2161 * time.Millisecond, retry: 1800 * time.Millisecond},
	{name: "zero retry", lease: 15 * time.Second, renew: 10 * time.Second, wantErr: "must be positive"},
	{name: "negative lease", lease: -time.Second, renew: 10 * time.Second, retry: 2 * time.Second, wantErr: "must be positive"},
}

// TestTimingIsClientGosRule: Validate refuses exactly what client-go's
// NewLeaderElector refuses.
func TestTimingIsClientGosRule(t *testing.T) {
	for _, tc := range timingCases {
		t.Run(tc.name, func(t *testing.T) {
			err := Lease{LeaseDuration: tc.lease, RenewDeadline: tc.renew, RetryPeriod: tc.retry}.Validate(PrimusFlags)
			_, clientGoErr := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
				Lock:          &resourcelock.LeaseLock{LockConfig: resourcelock.ResourceLockConfig{Identity: "test"}},
				LeaseDuration: tc.lease, RenewDeadline: tc.renew, RetryPeriod: tc.retry,
				Callbacks: leaderelection.LeaderCallbacks{OnStartedLeading: func(_ context.Context) {}, OnStoppedLeading: func() {}},
			})
			assert.Equal(t, clientGoErr == nil, err == nil, "client-go says %v, Validate says %v", clientGoErr, err)
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			if assert.Error(t, err) {
				assert.Contains(t, err.Error(), tc.wantErr)
			}
		})
	}
}
