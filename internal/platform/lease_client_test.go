package platform

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"k8s.io/client-go/rest"
)

func TestLeaseConfigHasItsOwnTimeoutAndUserAgent(t *testing.T) {
	cases := []struct {
		renewDeadline, want time.Duration
	}{
		{10 * time.Second, 5 * time.Second},
		{3 * time.Second, 1500 * time.Millisecond},
		{time.Second, time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.renewDeadline.String(), func(t *testing.T) {
			general := &rest.Config{Host: "https://example", UserAgent: UserAgent("primus-a_x1", 42)}
			c := leaseConfig(general, tc.renewDeadline)
			assert.Equal(t, tc.want, c.Timeout)
			assert.True(t, strings.HasSuffix(c.UserAgent, " leader-election"), c.UserAgent)
			id, pid, ok := ParseUserAgent(c.UserAgent)
			assert.True(t, ok && id == "primus-a_x1" && pid == 42, "the audit log still names the process: %s", c.UserAgent)
			assert.Equal(t, LeaseComponent, UserAgentComponent(c.UserAgent))
			assert.Zero(t, general.Timeout, "the general client is unchanged")
			assert.Equal(t, UserAgent("primus-a_x1", 42), general.UserAgent)
		})
	}
}
