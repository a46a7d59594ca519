// Package chartcopy makes altered copies of a chart for tests. It is for
// tests only.
package chartcopy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// releaseNamespaceLine is how charts/primus's templates set an object's
// metadata.namespace.
const releaseNamespaceLine = "  namespace: {{ .Release.Namespace }}"

// WithoutNamespaces copies chart into a temporary directory with every
// template's metadata.namespace line removed, as many charts leave the
// namespace to helm install -n, and returns the copy's path. Namespaces
// elsewhere (RBAC subjects, a namespace the values choose) stay. It fails
// the test when fewer than min lines were removed.
func WithoutNamespaces(t testing.TB, chart string, min int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), filepath.Base(chart))
	require.NoError(t, os.CopyFS(dir, os.DirFS(chart)))
	templates, err := filepath.Glob(filepath.Join(dir, "templates", "*.yaml"))
	require.NoError(t, err)
	removed := 0
	for _, path := range templates {
		raw, err := os.ReadFile(path)
		require.NoError(t, err)
		var kept []string
		for _, line := range strings.Split(string(raw), "\n") {
			if line == releaseNamespaceLine {
				removed++
				continue
			}
			kept = append(kept, line)
		}
		require.NoError(t, os.WriteFile(path, []byte(strings.Join(kept, "\n")), 0o644))
	}
	require.GreaterOrEqual(t, removed, min, "metadata.namespace lines removed from %s", chart)
	return dir
}
