package hacheck

import (
	"fmt"
	"slices"

	"github.com/primus-dev/primus/internal/hacheck/invariants"
	"github.com/primus-dev/primus/internal/hacheck/render"
)

// Option tunes a check.
type Option func(*config)

type config struct {
	replicas       int
	ignore         []string
	failOnWarnings bool
	namespace      string
}

// WithReplicas says how many replicas the test asked for, so the "replicas"
// rule can tell a chart that ignores replicaCount from one that honours it.
// Without it, CheckManifest takes each workload's spec.replicas as meant, and
// CheckChart takes the expectations of the chart's .hacheck.yaml, as the
// CLI does.
func WithReplicas(n int) Option { return func(c *config) { c.replicas = n } }

// WithNamespace says which namespace the manifest was rendered for
// (helm template -n), or the release was installed in (helm install -n),
// so CheckManifest and VerifyRelease place the objects a chart renders
// without a namespace where Helm creates them. Without it they are read in
// "default". CheckChart takes the namespace from ChartOptions.
func WithNamespace(ns string) Option { return func(c *config) { c.namespace = ns } }

// IgnoreRules drops the findings of the named rules, for a chart that breaks
// one on purpose. Prefer a narrower test over ignoring a rule everywhere.
func IgnoreRules(ids ...string) Option {
	return func(c *config) { c.ignore = append(c.ignore, ids...) }
}

// FailOnWarnings makes RequireHA fail on warnings too, not only on errors.
func FailOnWarnings() Option { return func(c *config) { c.failOnWarnings = true } }

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		o(&c)
	}
	return c
}

// filter drops ignored rules' findings.
func (c config) filter(fs []Finding) []Finding {
	out := fs[:0:0]
	for _, f := range fs {
		if !slices.Contains(c.ignore, f.Rule) {
			out = append(out, f)
		}
	}
	return out
}

// CheckManifest checks a rendered multi-document manifest, as `helm
// template` prints it and terratest's helm.RenderTemplate returns it, against
// every static rule. It returns the findings sorted by rule then object, an
// empty slice when every rule holds, and an error only when the manifest is
// not YAML or an object does not decode into its kind.
func CheckManifest(manifest string, opts ...Option) ([]Finding, error) {
	objs, err := render.Decode(manifest)
	if err != nil {
		return nil, fmt.Errorf("decode manifest: %w", err)
	}
	return checkObjects(objs, newConfig(opts))
}

func checkObjects(objs []render.Object, c config) ([]Finding, error) {
	fs, err := invariants.Check(objs, invariants.Expectation{Replicas: c.replicas, Namespace: c.namespace})
	if err != nil {
		return nil, fmt.Errorf("check manifest: %w", err)
	}
	return c.filter(fromInvariants(fs)), nil
}
