package hacheck

import (
	"errors"

	"github.com/primus-dev/primus/internal/hacheck/chartcheck"
	"github.com/primus-dev/primus/internal/hacheck/render"
)

// ChartOptions says which chart to render and with which values, as the helm
// CLI's flags would.
type ChartOptions struct {
	// Chart is the path of a chart directory or packaged .tgz. Required.
	Chart string
	// ReleaseName defaults to "release-name", as `helm template` does.
	ReleaseName string
	// Namespace defaults to "default".
	Namespace string
	// ValueFiles are -f files, applied in order.
	ValueFiles []string
	// Set are --set expressions (key=value).
	Set []string
	// Values are merged over ValueFiles and Set.
	Values map[string]any
	// KubeVersion is the Kubernetes version the templates see (default:
	// the Helm SDK's).
	KubeVersion string
}

func (o ChartOptions) render() render.Options {
	return render.Options{
		Chart: o.Chart, ReleaseName: o.ReleaseName, Namespace: o.Namespace,
		ValueFiles: o.ValueFiles, Set: o.Set, Values: o.Values, KubeVersion: o.KubeVersion,
	}
}

// Render renders the chart in-process with the Helm SDK, enforcing its values
// schema, and returns the manifest `helm template` would print. A missing
// chart, bad values or a template's fail message return an error for which
// IsInputError is true.
func Render(opts ChartOptions) (string, error) {
	res, err := render.Render(opts.render())
	if err != nil {
		return "", err
	}
	return res.Manifest, nil
}

// CheckChart renders the chart as Render does and checks the result as
// CheckManifest does: what `hacheck check` does, with the same
// expectations. The chart's .hacheck.yaml (beside the chart, else in the
// working directory) says which replica count each workload must render
// (expect, with replicasFrom naming a values key) and tunes the rules, as
// it does for the CLI; WithReplicas asks one count of every workload over
// it. Without either, each workload's spec.replicas is taken as meant: no
// values key is guessed, since a chart's replicaCount may drive only some
// of its workloads.
func CheckChart(opts ChartOptions, check ...Option) ([]Finding, error) {
	cfg, err := chartcheck.LoadConfig("", opts.Chart)
	if err != nil {
		return nil, err
	}
	c := newConfig(check)
	res, err := chartcheck.Check(chartcheck.CheckOptions{Options: opts.render(), Config: cfg, Replicas: c.replicas})
	if err != nil {
		return nil, err
	}
	return c.filter(fromInvariants(res.Findings)), nil
}

// IsInputError reports whether err is the caller's mistake (a missing chart,
// bad values, a template's fail) rather than a failure of the check itself.
func IsInputError(err error) bool {
	var ie *render.InputError
	return errors.As(err, &ie)
}
