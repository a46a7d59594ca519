// Package render renders a Helm chart in-process with the Helm Go SDK, the
// way `helm template` does, and decodes the result into Kubernetes objects.
//
// It is for tools and tests that need a chart's manifests fast (no helm
// process per render). It does not talk to a cluster.
package render

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/cli/values"
	"helm.sh/helm/v3/pkg/getter"

	"github.com/primus-dev/primus/internal/hacheck/schema"
)

// DefaultReleaseName is the release name used when Options leaves it empty,
// the one `helm template` uses.
const DefaultReleaseName = "release-name"

// DefaultNamespace is the namespace used when Options leaves it empty.
const DefaultNamespace = "default"

// Options says what to render: a chart and the values a user would pass to
// `helm template` with -f and --set.
type Options struct {
	// Chart is the path of a chart directory or packaged .tgz.
	Chart string
	// ReleaseName defaults to DefaultReleaseName.
	ReleaseName string
	// Namespace defaults to DefaultNamespace.
	Namespace string
	// ValueFiles are -f/--values files, applied in order.
	ValueFiles []string
	// Set are --set expressions.
	Set []string
	// SetString are --set-string expressions.
	SetString []string
	// SetJSON are --set-json expressions.
	SetJSON []string
	// Values are extra values merged over the files and --set flags (used
	// by matrices and tests that build values in Go).
	Values map[string]any
	// KubeVersion is the Kubernetes version the templates see; empty means
	// DefaultKubeVersion.
	KubeVersion string
	// IncludeCRDs adds the chart's crds/ to the manifest, like --include-crds.
	IncludeCRDs bool
	// IsUpgrade renders as an upgrade (.Release.IsUpgrade), like --is-upgrade.
	IsUpgrade bool
}

// Result is a rendered chart.
type Result struct {
	// Manifest is what `helm template` prints.
	Manifest string
	// Objects are the decoded objects of Manifest, in order.
	Objects []Object
	// Values are the user-supplied values after merging files and flags.
	Values map[string]any
	// Notes is the rendered NOTES.txt.
	Notes string
}

// InputError is a problem with what the user asked for: a missing chart, a
// bad --set, values the schema rejects, or a template's `fail`. Its message
// is meant to be printed as is, one line per problem.
type InputError struct {
	Err error
}

func (e *InputError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *InputError) Unwrap() error { return e.Err }

// IsInputError reports whether err is (or wraps) an InputError.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

// LoadChart loads a chart directory or archive, with an InputError when it
// is missing or malformed.
func LoadChart(path string) (*chart.Chart, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, &InputError{fmt.Errorf("chart %s: no such file or directory", path)}
	}
	ch, err := loader.Load(path)
	if err != nil {
		return nil, &InputError{fmt.Errorf("chart %s: %w", path, err)}
	}
	return ch, nil
}

// MergeValues merges value files, --set flags and extra values the way the
// helm CLI does.
func MergeValues(opts Options) (map[string]any, error) {
	vo := values.Options{
		ValueFiles:   opts.ValueFiles,
		Values:       opts.Set,
		StringValues: opts.SetString,
		JSONValues:   opts.SetJSON,
	}
	vals, err := vo.MergeValues(getter.All(cli.New()))
	if err != nil {
		return nil, &InputError{oneLine(err)}
	}
	if len(opts.Values) > 0 {
		vals = chartutil.MergeTables(CopyValues(opts.Values), vals)
	}
	return vals, nil
}

// Render renders opts.Chart with the chart's values schema enforced, the
// same output as `helm template`.
func Render(opts Options) (*Result, error) {
	ch, err := LoadChart(opts.Chart)
	if err != nil {
		return nil, err
	}
	return RenderChart(ch, opts)
}

// RenderChart renders an already loaded chart; matrices load once and call
// it per case.
func RenderChart(ch *chart.Chart, opts Options) (*Result, error) {
	vals, err := MergeValues(opts)
	if err != nil {
		return nil, err
	}
	if err := validateValues(ch, vals); err != nil {
		return nil, err
	}

	client := action.NewInstall(&action.Configuration{})
	client.DryRun = true
	client.DryRunOption = "true"
	client.ClientOnly = true
	client.Replace = true
	client.ReleaseName = defaultString(opts.ReleaseName, DefaultReleaseName)
	client.Namespace = defaultString(opts.Namespace, DefaultNamespace)
	client.IncludeCRDs = opts.IncludeCRDs
	client.IsUpgrade = opts.IsUpgrade
	kubeVersion := defaultString(opts.KubeVersion, DefaultKubeVersion())
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		return nil, &InputError{fmt.Errorf("--kube-version %q: %w", kubeVersion, err)}
	}
	client.KubeVersion = kv
	if req := ch.Metadata.Dependencies; req != nil {
		if err := action.CheckDependencies(ch, req); err != nil {
			return nil, &InputError{fmt.Errorf("chart %s: %w", ch.Name(), err)}
		}
	}

	rel, err := client.Run(ch, vals)
	if err != nil {
		return nil, &InputError{templateError(err)}
	}

	var b strings.Builder
	b.WriteString(strings.TrimSpace(rel.Manifest))
	b.WriteString("\n")
	for _, h := range rel.Hooks {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", h.Path, h.Manifest)
	}
	manifest := b.String()
	objs, err := Decode(manifest)
	if err != nil {
		return nil, fmt.Errorf("decode rendered manifest: %w", err)
	}
	return &Result{Manifest: manifest, Objects: objs, Values: vals, Notes: rel.Info.Notes}, nil
}

// validateValues checks the coalesced values against every values.schema.json
// of the chart, giving one line per violation that names the key.
func validateValues(ch *chart.Chart, vals map[string]any) error {
	coalesced, err := chartutil.CoalesceValues(ch, vals)
	if err != nil {
		return &InputError{fmt.Errorf("values: %w", err)}
	}
	if len(ch.Schema) == 0 {
		return nil
	}
	if err := schema.Validate(ch.Schema, coalesced.AsMap()); err != nil {
		return &InputError{err}
	}
	return nil
}

// executionErrorPrefix matches the location Helm puts before a template's
// `fail` message; the message itself already names the key.
var executionErrorPrefix = regexp.MustCompile(`^execution error at \([^)]*\): `)

// templateError turns a Helm rendering error into the user's one line.
func templateError(err error) error {
	msg := err.Error()
	if i := strings.LastIndex(msg, "execution error at ("); i >= 0 {
		return errors.New(executionErrorPrefix.ReplaceAllString(msg[i:], ""))
	}
	return oneLine(err)
}

// oneLine folds a multi-line error into one line.
func oneLine(err error) error {
	return errors.New(strings.Join(strings.Fields(err.Error()), " "))
}

func defaultString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// CopyValues copies nested value maps, so merging never mutates the
// caller's values.
func CopyValues(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			out[k] = CopyValues(sub)
			continue
		}
		out[k] = v
	}
	return out
}
