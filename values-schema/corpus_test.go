package valuesschema_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/primus-dev/primus/internal/hacheck/schema"
	valuesschema "github.com/primus-dev/primus/values-schema"
)

var update = flag.Bool("update", false, "rewrite testdata/invalid.golden from the corpus")

// goldenPath holds every message the invalid corpus produces, for review.
const goldenPath = "testdata/invalid.golden"

// validator is one of the schema libraries Helm has used.
type validator struct {
	name     string
	validate func(schemaJSON []byte, values map[string]any) error
}

var validators = []validator{
	{"santhosh-tekuri/jsonschema (Helm >= 3.19)", schema.Validate},
	{"gojsonschema (Helm <= 3.18)", schema.ValidateGojsonschema},
}

// corpusFile is one values file of the corpus.
type corpusFile struct {
	name    string // "invalid/replicacount-zero.yaml"
	values  map[string]any
	wantKey string // from the "# want: <key>: <substring>" line; invalid files only
	wantMsg string
}

func TestSchemaIsNotStale(t *testing.T) {
	root := repoRoot(t)
	want, err := valuesschema.Generate(root)
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(root, valuesschema.OutputPath))
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "%s is stale: run go run ./values-schema/gen", valuesschema.OutputPath)
}

func TestCorpusSize(t *testing.T) {
	assert.GreaterOrEqual(t, len(readCorpus(t, "valid")), 12)
	assert.GreaterOrEqual(t, len(readCorpus(t, "invalid")), 32)
}

func TestValidCorpus(t *testing.T) {
	for _, cf := range readCorpus(t, "valid") {
		t.Run(cf.name, func(t *testing.T) {
			t.Parallel()
			schemaJSON, chrt := loadChart(t)
			coalesced, err := chartutil.CoalesceValues(chrt, cf.values)
			require.NoError(t, err)
			for _, v := range validators {
				assert.NoError(t, v.validate(schemaJSON, coalesced), "%s, as Helm coalesces the file", v.name)
				assert.NoError(t, v.validate(schemaJSON, cf.values), "%s, the file alone", v.name)
			}
			assert.NoError(t, helmValidate(chrt, cf.values), "helm")
		})
	}
}

func TestInvalidCorpus(t *testing.T) {
	files := readCorpus(t, "invalid")
	reported := make([]string, len(files)) // what santhosh reports, for the golden file
	t.Run("files", func(t *testing.T) {
		for i, cf := range files {
			t.Run(cf.name, func(t *testing.T) {
				t.Parallel()
				reported[i] = checkInvalid(t, cf)
			})
		}
	})

	var golden bytes.Buffer
	for i, cf := range files {
		fmt.Fprintf(&golden, "== %s\n%s\n", cf.name, reported[i])
	}
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(goldenPath), 0o755))
		require.NoError(t, os.WriteFile(goldenPath, golden.Bytes(), 0o644))
	}
	want, err := os.ReadFile(goldenPath)
	require.NoError(t, err, "run go test ./values-schema -update to create it")
	assert.Equal(t, string(want), golden.String(), "messages changed: review, then go test ./values-schema -update")
}

// checkInvalid asserts that both libraries and Helm refuse an invalid corpus
// file, on its own and coalesced with the chart defaults, with the wanted
// violation and the same violations under both libraries. It returns them.
func checkInvalid(t *testing.T, cf corpusFile) string {
	require.NotEmpty(t, cf.wantKey, "the first line must be `# want: <key>: <substring of the message>`")
	schemaJSON, chrt := loadChart(t)
	coalesced, err := chartutil.CoalesceValues(chrt, cf.values)
	require.NoError(t, err)

	var reports []string
	for _, v := range validators {
		for _, input := range []struct {
			name   string
			values map[string]any
		}{{"as Helm coalesces the file", coalesced}, {"the file alone", cf.values}} {
			vs := violations(t, v.validate(schemaJSON, input.values))
			assert.Truef(t, hasViolation(vs, cf.wantKey, cf.wantMsg),
				"%s, %s: want a violation %q containing %q, got:\n%s", v.name, input.name, cf.wantKey, cf.wantMsg, lines(vs))
			if input.name == "as Helm coalesces the file" {
				reports = append(reports, lines(vs))
			}
		}
	}
	assert.Equal(t, reports[0], reports[1], "both libraries must report the same violations")
	assert.Error(t, helmValidate(chrt, cf.values), "helm must refuse it too")
	return reports[0]
}

// TestChartDefaults checks values.yaml as it is, nulls included, and as Helm
// coalesces it with nothing set.
func TestChartDefaults(t *testing.T) {
	schemaJSON, chrt := loadChart(t)
	coalesced, err := chartutil.CoalesceValues(chrt, map[string]any{})
	require.NoError(t, err)

	pdb, ok := coalesced["podDisruptionBudget"].(map[string]any)
	require.True(t, ok)
	for _, key := range []string{"minAvailable", "maxUnavailable"} {
		v, kept := pdb[key]
		assert.True(t, kept, "Helm 3.22 keeps a chart default's null key %s when the user sets nothing", key)
		assert.Nil(t, v)
	}

	for _, v := range validators {
		assert.NoError(t, v.validate(schemaJSON, chrt.Values), "%s: values.yaml", v.name)
		assert.NoError(t, v.validate(schemaJSON, coalesced), "%s: coalesced defaults", v.name)
	}
}

// TestAsSubchart installs Primus as the dependency of a parent chart that
// enables it with a condition key and shares globals, as umbrella charts do.
func TestAsSubchart(t *testing.T) {
	_, primus := loadChart(t)
	tests := []struct {
		name    string
		values  map[string]any
		wantErr string
	}{
		{
			name:   "condition key and globals",
			values: map[string]any{"global": map[string]any{"imageRegistry": "registry.example.com"}, "primus": map[string]any{"enabled": true, "replicaCount": 3}},
		},
		{
			name:    "a typo under the subchart",
			values:  map[string]any{"primus": map[string]any{"enabled": true, "replicacount": 3}},
			wantErr: "replicacount",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent := &chart.Chart{
				Metadata: &chart.Metadata{
					APIVersion: chart.APIVersionV2, Name: "umbrella", Version: "1.0.0",
					Dependencies: []*chart.Dependency{{Name: "primus", Version: primus.Metadata.Version, Condition: "primus.enabled"}},
				},
				Values: map[string]any{"primus": map[string]any{"enabled": false}},
			}
			parent.AddDependency(primus)
			_, err := chartutil.ToRenderValues(parent, tc.values, chartutil.ReleaseOptions{Name: "platform", Namespace: "platform", IsInstall: true}, nil)
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

// helmValidate builds the render values as `helm install` does, which
// coalesces values with the chart defaults and validates them against the
// chart's schema with Helm's own code.
func helmValidate(chrt *chart.Chart, values map[string]any) error {
	_, err := chartutil.ToRenderValues(chrt, values, chartutil.ReleaseOptions{Name: "primus", Namespace: "primus-system", IsInstall: true}, nil)
	return err
}

// loadChart loads charts/primus fresh, so no test sees another's changes.
func loadChart(t *testing.T) ([]byte, *chart.Chart) {
	t.Helper()
	chrt, err := loader.Load(filepath.Join(repoRoot(t), "charts", "primus"))
	require.NoError(t, err)
	require.NotEmpty(t, chrt.Schema, "the chart ships values.schema.json")
	return chrt.Schema, chrt
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := valuesschema.FindRoot(".")
	require.NoError(t, err)
	return root
}

// readCorpus reads corpus/<dir>/*.yaml as Helm reads a values file.
func readCorpus(t *testing.T, dir string) []corpusFile {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("corpus", dir, "*.yaml"))
	require.NoError(t, err)
	sort.Strings(paths)
	files := make([]corpusFile, 0, len(paths))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		values, err := chartutil.ReadValues(data)
		require.NoError(t, err, p)
		cf := corpusFile{name: dir + "/" + filepath.Base(p), values: values}
		first, _, _ := strings.Cut(string(data), "\n")
		if want, ok := strings.CutPrefix(first, "# want: "); ok {
			cf.wantKey, cf.wantMsg, _ = strings.Cut(want, ": ")
		}
		files = append(files, cf)
	}
	return files
}

// violations returns the violations of a validation error; it fails the
// test for a nil error or any other kind of error.
func violations(t *testing.T, err error) []schema.Violation {
	t.Helper()
	var verr *schema.ValidationError
	require.Truef(t, errors.As(err, &verr), "want a *schema.ValidationError, got %v", err)
	return verr.Violations
}

func hasViolation(vs []schema.Violation, key, msg string) bool {
	for _, v := range vs {
		if v.Key == key && strings.Contains(v.Message, msg) {
			return true
		}
	}
	return false
}

func lines(vs []schema.Violation) string {
	return (&schema.ValidationError{Violations: vs}).Error()
}
