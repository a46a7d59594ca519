package render

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/primus-dev/primus/internal/hacheck/render"
)

// chartPath is charts/primus, found from this file so tests run from any
// working directory.
func chartPath(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	require.True(t, ok)
	return filepath.Join(filepath.Dir(file), "..", "..", "charts", "primus")
}

// renderChart renders the chart as release "primus" in namespace
// "primus-system" with the given --set expressions.
func renderChart(t testing.TB, set ...string) *render.Result {
	t.Helper()
	res, err := render.Render(render.Options{Chart: chartPath(t), ReleaseName: "primus", Namespace: "primus-system", Set: set})
	require.NoError(t, err)
	return res
}

// renderErr renders and returns the error, which must not be nil.
func renderErr(t testing.TB, set ...string) error {
	t.Helper()
	_, err := render.Render(render.Options{Chart: chartPath(t), ReleaseName: "primus", Namespace: "primus-system", Set: set})
	require.Error(t, err, "rendering with %v must fail", set)
	require.True(t, render.IsInputError(err), "a bad value is an input error, got %T: %v", err, err)
	return err
}

// only decodes the single object of a kind into out.
func only[T any](t testing.TB, res *render.Result, kind string, out *T) *T {
	t.Helper()
	objs := render.Find(res.Objects, kind)
	require.Len(t, objs, 1, "want exactly one %s", kind)
	require.NoError(t, objs[0].Into(out))
	return out
}

func deployment(t testing.TB, res *render.Result) *appsv1.Deployment {
	return only(t, res, "Deployment", &appsv1.Deployment{})
}

// argValue returns the value of --name=value in the container's args.
func argValue(t testing.TB, d *appsv1.Deployment, name string) string {
	t.Helper()
	prefix := "--" + name + "="
	for _, a := range d.Spec.Template.Spec.Containers[0].Args {
		if len(a) > len(prefix) && a[:len(prefix)] == prefix {
			return a[len(prefix):]
		}
	}
	t.Fatalf("arg --%s not found in %v", name, d.Spec.Template.Spec.Containers[0].Args)
	return ""
}
