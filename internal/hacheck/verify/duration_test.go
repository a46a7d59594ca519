package verify

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReportJSONRoundTrips: what -o json prints decodes back into a Report.
func TestReportJSONRoundTrips(t *testing.T) {
	in := Report{Deployment: "primus-system/primus", Replicas: 1,
		Leader: &Leader{Pod: "primus-a", RenewedAgo: Duration(1200 * time.Millisecond), LeaseDuration: Duration(15 * time.Second)},
		Pods:   []Pod{{Name: "primus-a", Digest: DigestUnknown, DigestReason: "the container status has no imageID"}}}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"renewedAgo":"1.2s"`)
	var out Report
	require.NoError(t, json.Unmarshal(b, &out))
	assert.Equal(t, in, out)

	assert.Error(t, json.Unmarshal([]byte(`{"renewedAgo":"soon"}`), &Leader{}))
}
