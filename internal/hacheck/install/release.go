// Package install installs, upgrades and uninstalls a chart on a live
// cluster with the Helm Go SDK, the way `helm upgrade --install` does.
//
// Values are validated (schema and templates) before anything is sent to
// the cluster, so bad input never changes what is installed. It does not
// check HA invariants; see packages invariants and verify.
package install

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/cli"
	helmrelease "helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/primus-dev/primus/internal/hacheck/render"
)

// Options says what to install where.
type Options struct {
	// Kubeconfig is the path of the cluster's kubeconfig.
	Kubeconfig string
	// Context is the kubeconfig context; empty uses the current one.
	Context string
	// Render holds the chart, release name, namespace and value flags.
	Render render.Options
	// ReuseValues merges the flags over the previous release's values,
	// like `helm upgrade --reuse-values`.
	ReuseValues bool
	// Wait waits until the release's workloads are ready.
	Wait bool
	// Timeout bounds the wait (default 5 minutes).
	Timeout time.Duration
	// Log receives Helm's debug lines; nil discards them.
	Log *slog.Logger
}

// Apply installs the release, or upgrades it when it exists. Nothing is
// sent to the cluster when the values or templates are invalid: the error
// is then a render.InputError.
func Apply(ctx context.Context, opts Options) (*helmrelease.Release, error) {
	cfg, err := configuration(opts)
	if err != nil {
		return nil, err
	}
	ch, err := render.LoadChart(opts.Render.Chart)
	if err != nil {
		return nil, err
	}
	vals, err := render.MergeValues(opts.Render)
	if err != nil {
		return nil, err
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}

	previous, err := action.NewGet(cfg).Run(opts.Render.ReleaseName)
	exists := err == nil
	if err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, fmt.Errorf("look up release %s: %w", opts.Render.ReleaseName, err)
	}

	// Validate what the cluster would get, before it gets anything.
	effective := vals
	if exists && opts.ReuseValues {
		effective = chartutil.MergeTables(render.CopyValues(vals), previous.Config)
	}
	dry := opts.Render
	dry.Set, dry.SetString, dry.SetJSON, dry.ValueFiles = nil, nil, nil, nil
	dry.Values = effective
	dry.IsUpgrade = exists
	if _, err := render.RenderChart(ch, dry); err != nil {
		return nil, err
	}

	if !exists {
		install := action.NewInstall(cfg)
		install.ReleaseName = opts.Render.ReleaseName
		install.Namespace = opts.Render.Namespace
		install.CreateNamespace = true
		install.Wait = opts.Wait
		install.Timeout = timeout
		rel, err := install.RunWithContext(ctx, ch, vals)
		if err != nil {
			return rel, fmt.Errorf("install %s: %w", opts.Render.ReleaseName, err)
		}
		return rel, nil
	}
	upgrade := action.NewUpgrade(cfg)
	upgrade.Namespace = opts.Render.Namespace
	upgrade.ReuseValues = opts.ReuseValues
	upgrade.Wait = opts.Wait
	upgrade.Timeout = timeout
	rel, err := upgrade.RunWithContext(ctx, opts.Render.ReleaseName, ch, vals)
	if err != nil {
		return rel, fmt.Errorf("upgrade %s: %w", opts.Render.ReleaseName, err)
	}
	return rel, nil
}

// Uninstall removes the release; a release that does not exist is not an
// error.
func Uninstall(opts Options) error {
	cfg, err := configuration(opts)
	if err != nil {
		return err
	}
	if _, err := action.NewUninstall(cfg).Run(opts.Render.ReleaseName); err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
		return fmt.Errorf("uninstall %s: %w", opts.Render.ReleaseName, err)
	}
	return nil
}

// Status returns the deployed release.
func Status(opts Options) (*helmrelease.Release, error) {
	cfg, err := configuration(opts)
	if err != nil {
		return nil, err
	}
	return action.NewStatus(cfg).Run(opts.Render.ReleaseName)
}

func configuration(opts Options) (*action.Configuration, error) {
	if opts.Render.Namespace == "" {
		opts.Render.Namespace = render.DefaultNamespace
	}
	if opts.Render.ReleaseName == "" {
		return nil, &render.InputError{Err: errors.New("release name is required")}
	}
	settings := cli.New()
	settings.KubeConfig = opts.Kubeconfig
	settings.KubeContext = opts.Context
	settings.SetNamespace(opts.Render.Namespace)
	logf := func(string, ...any) {}
	if opts.Log != nil {
		logf = func(format string, v ...any) { opts.Log.Debug(fmt.Sprintf(format, v...)) }
	}
	cfg := &action.Configuration{}
	if err := cfg.Init(settings.RESTClientGetter(), opts.Render.Namespace, "secret", logf); err != nil {
		return nil, fmt.Errorf("helm configuration for %s: %w", opts.Kubeconfig, err)
	}
	return cfg, nil
}
