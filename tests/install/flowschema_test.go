package install

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// TestLeaseRequestsUseTheProtectedPriorityLevel installs the chart and
// reads the Lease with the ServiceAccount's token: the API server's
// priority-and-fairness response headers name the chart's FlowSchema and
// the built-in leader-election level, while the same ServiceAccount's
// other requests stay on their usual schema.
func TestLeaseRequestsUseTheProtectedPriorityLevel(t *testing.T) {
	r := newRelease(t, nil)
	r.install(nil)
	ctx := t.Context()
	name := "primus-" + r.namespace + "-leader-election"
	fs, err := r.client.FlowcontrolV1().FlowSchemas().Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err, "the API server accepted the chart's FlowSchema")
	pl, err := r.client.FlowcontrolV1().PriorityLevelConfigurations().Get(ctx, "leader-election", metav1.GetOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		fs, err := r.client.FlowcontrolV1().FlowSchemas().Get(ctx, name, metav1.GetOptions{})
		for _, c := range fs.Status.Conditions {
			if err == nil && c.Type == flowcontrolv1.FlowSchemaConditionDangling {
				return c.Status == flowcontrolv1.ConditionFalse
			}
		}
		return false
	}, 30*time.Second, 100*time.Millisecond, "the FlowSchema's priority level must exist (Dangling=False)")

	cfg := r.serviceAccountConfig()
	hc, err := rest.HTTPClientFor(cfg)
	require.NoError(t, err)
	// get returns the response headers of GET path. Priority and fairness
	// classifies a request before it is authorized, so even a refused one
	// carries the headers.
	get := func(path string) (int, http.Header) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.Host+path, nil)
		require.NoError(t, err)
		resp, err := hc.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	var lease http.Header
	require.Eventually(t, func() bool {
		var code int
		code, lease = get("/apis/coordination.k8s.io/v1/namespaces/" + r.namespace + "/leases/primus-leader")
		return code == http.StatusOK && lease.Get("X-Kubernetes-Pf-Flowschema-Uid") == string(fs.UID)
	}, 30*time.Second, 100*time.Millisecond, "a Lease read must match the chart's FlowSchema, got %q", lease.Get("X-Kubernetes-Pf-Flowschema-Uid"))
	assert.Equal(t, string(pl.UID), lease.Get("X-Kubernetes-Pf-Prioritylevel-Uid"), "on the leader-election level")

	_, other := get("/api/v1/namespaces/" + r.namespace + "/configmaps")
	assert.NotEmpty(t, other.Get("X-Kubernetes-Pf-Flowschema-Uid"))
	assert.NotEqual(t, string(fs.UID), other.Get("X-Kubernetes-Pf-Flowschema-Uid"), "only Lease requests are protected")
}
