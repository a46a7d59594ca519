package hacheck

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImportsStayLight guards what a chart author's module pulls in with
// pkg/hacheck: not the embedded cluster, the replica harness or the
// platform's API server, whose dependencies (file locks, kwok, the
// Kubernetes server libraries) their go.sum would then need. The examples
// module (examples/go.mod) is such a module; CI once failed there when
// verify imported the replica harness.
func TestImportsStayLight(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	require.NoError(t, err, "go list -deps")
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/primus-dev/primus/internal/hacheck/verify", "the listing is of this package's imports")

	forbidden := []struct {
		prefix, why string
	}{
		{"github.com/primus-dev/primus/internal/hacheck/cluster", "the embedded cluster"},
		{"github.com/primus-dev/primus/internal/hacheck/replica", "the replica harness"},
		{"github.com/primus-dev/primus/internal/hacheck/podrunner", "the kubelet stand-in"},
		{"github.com/primus-dev/primus/internal/hacheck/podnet", "the Pod network"},
		{"github.com/primus-dev/primus/internal/testharness/", "test-only helpers"},
		{"github.com/primus-dev/primus/internal/platform/mgmtapi", "the platform's API server"},
		// Helm's lint and the RBAC reading use leaf packages of
		// k8s.io/apiserver (deprecation notices, user names); the server
		// itself stays out.
		{"k8s.io/apiserver/pkg/server", "the generic API server"},
		{"k8s.io/apiserver/pkg/registry", "the API server's storage"},
		{"k8s.io/kubernetes/", "Kubernetes' own tree"},
		{"sigs.k8s.io/kwok/", "kwok"},
		{"github.com/gofrs/flock", "the cluster's build lock"},
	}
	for _, f := range forbidden {
		t.Run(f.why, func(t *testing.T) {
			for _, d := range deps {
				assert.False(t, strings.HasPrefix(d, f.prefix), "pkg/hacheck imports %s (%s)", d, f.why)
			}
		})
	}
}
