package platform

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestUserAgentRoundTrips(t *testing.T) {
	tests := []struct {
		name     string
		identity string
		pid      int
	}{
		{name: "pod name", identity: "primus-6cd54f554d-g8h56", pid: 4242},
		{name: "per-process identity", identity: "primus-6cd54f554d-g8h56_x7k2q9", pid: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, pid, ok := ParseUserAgent(UserAgent(tc.identity, tc.pid))
			assert.True(t, ok)
			assert.Equal(t, tc.identity, id)
			assert.Equal(t, tc.pid, pid)
		})
	}
	assert.Equal(t, "management-api", UserAgentComponent(UserAgent("p", 1)+" "+ManagementAPIComponent))
	assert.Equal(t, "", UserAgentComponent(UserAgent("p", 1)))
	for _, other := range []string{"", "kube-controller-manager/v1.37.2", "primus/v1 (x)", "primus (a; pid x)"} {
		_, _, ok := ParseUserAgent(other)
		assert.False(t, ok, other)
	}
}
