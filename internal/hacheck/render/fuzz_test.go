package render_test

import (
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"sigs.k8s.io/yaml"

	"github.com/primus-dev/primus/internal/hacheck/render"
)

// fuzzChart is charts/primus, loaded once per process: RenderChart is
// meant to be called many times on one loaded chart (hacheck's matrix does).
var fuzzChart = sync.OnceValues(func() (*chart.Chart, error) {
	_, file, _, _ := runtime.Caller(0)
	return render.LoadChart(filepath.Join(filepath.Dir(file), "..", "..", "..", "charts", "primus"))
})

// FuzzRenderValues renders charts/primus with random values: a YAML
// document decoded into values, with one key, a known one or a random one,
// set to a fuzzed string, number, boolean or null. Whatever the values,
// rendering must not panic, and an error must be a *render.InputError (the
// schema or a template refused the values): never a broken manifest or an
// internal error. What renders is the chart's own objects: each from the
// template named after its kind, one per template, so values never inject
// an object.
//
//	go test ./internal/render -run '^$' -fuzz FuzzRenderValues -fuzztime 30s
func FuzzRenderValues(f *testing.F) {
	seeds := []struct {
		doc  string
		path string
		s    string
		n    int64
		kind uint8
	}{
		{doc: "", path: "replicaCount", n: 3, kind: kindInt},
		{doc: "replicaCount: 3\npodAntiAffinity: hard\nleaderElection: {renewDeadline: 3s, retryPeriod: 1s}\n", path: "leaderElection.leaseDuration", s: "4s", kind: kindString},
		{doc: "replicaCount: 3\n", path: "podDisruptionBudget.minAvailable", s: "50%", kind: kindString},
		{doc: "replicaCount: 3\n", path: "podDisruptionBudget.maxUnavailable", n: 0, kind: kindInt},
		{doc: "replicaCount: 1\nleaderElection:\n  enabled: false\n", path: "strategy.type", s: "Recreate", kind: kindString},
		{doc: "replicaCount: 2\nleaderElection:\n  enabled: false\n", path: "strategy.type", s: "Recreate", kind: kindString},
		{doc: "podAnnotations:\n  a: b\n", path: "podAnnotations.restartedAt", s: "2026-01-01T00:00:00Z", kind: kindString},
		{doc: "topologySpreadConstraints:\n- maxSkew: 1\n  topologyKey: zone\n  whenUnsatisfiable: DoNotSchedule\n", path: "priorityClassName", s: "high: priority", kind: kindString},
		{doc: "extraArgs: [\"--log-level=debug\"]\n", path: "leaderElection.leaseName", s: "lease\nname", kind: kindString},
		{doc: "image:\n  digest: sha256:abc\n", path: "nameOverride", s: "x{{ .Values }}", kind: kindString},
		{doc: "replicacount: 3\n", path: "unknown.key", kind: kindNull},
		{doc: "- a\n- b\n", path: "metrics.enabled", kind: kindBool},
		{doc: "global: {a: 1}\n", path: "resources.limits.cpu", n: -1, kind: kindInt},
	}
	for _, s := range seeds {
		f.Add([]byte(s.doc), s.path, s.s, s.n, s.kind)
	}
	f.Fuzz(func(t *testing.T, doc []byte, path, s string, n int64, kind uint8) {
		ch, err := fuzzChart()
		if err != nil {
			t.Fatal(err)
		}
		vals := map[string]any{}
		if err := yaml.Unmarshal(doc, &vals); err != nil || vals == nil {
			vals = map[string]any{} // not a YAML map: the key alone
		}
		setPath(vals, path, fuzzValue(kind, s, n))

		res, err := render.RenderChart(ch, render.Options{ReleaseName: "primus", Namespace: "primus-system", Values: vals})
		if err != nil {
			if !render.IsInputError(err) {
				t.Fatalf("values %v: error is not a render.InputError: %T %v", vals, err, err)
			}
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatalf("values %v: an InputError without a message", vals)
			}
			return
		}
		sources := map[string]bool{}
		for _, o := range res.Objects {
			if o.GetKind() == "" || o.GetName() == "" {
				t.Fatalf("values %v: %s renders an object without kind or name: %v", vals, o.Source, o.Object)
			}
			template, _, _ := strings.Cut(strings.TrimSuffix(filepath.Base(o.Source), ".yaml"), "-")
			if template != strings.ToLower(o.GetKind()) || sources[o.Source] {
				t.Fatalf("values %v inject %s into %s", vals, o.Ref(), o.Source)
			}
			sources[o.Source] = true
		}
	})
}

// The kinds of value fuzzValue makes.
const (
	kindString uint8 = iota
	kindInt
	kindFloat
	kindBool
	kindNull
	kindCount
)

// fuzzValue returns s, n, n/8, n's parity or nil, by kind.
func fuzzValue(kind uint8, s string, n int64) any {
	switch kind % kindCount {
	case kindString:
		return s
	case kindInt:
		return n
	case kindFloat:
		return float64(n) / 8
	case kindBool:
		return n%2 == 0
	}
	return nil
}

// setPath sets the value at a dotted path in vals, making maps on the way
// and replacing whatever is not one.
func setPath(vals map[string]any, path string, v any) {
	keys := strings.Split(path, ".")
	m := vals
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = v
}
