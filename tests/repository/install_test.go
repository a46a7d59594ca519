package repository

import (
	"cmp"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/primus-dev/primus/internal/testharness/chartrepo"
)

// source is where users install the chart from, as the flags they type.
type source struct {
	// chart is the chart argument: "primus" with --repo, or
	// oci://HOST/charts/primus.
	chart string
	// flags locate and trust the source.
	flags []string
	// requests are the paths the source served so far, when it records
	// them.
	requests func() []string
}

// TestInstallFromRepository is the users' path, once per source: install
// from the published chart with provenance verified, upgrade to HA with one
// command, check the live HA invariants, roll back.
func TestInstallFromRepository(t *testing.T) {
	a := built(t)
	repo := serveRepository(t, a)
	reg := startRegistry(t, a)
	sources := map[string]source{
		"https": {chart: "primus", flags: []string{"--repo", repo.URL(), "--ca-file", a.caFile}, requests: repo.Requests},
		"oci":   {chart: "oci://" + reg.Host() + "/charts/primus", flags: []string{"--ca-file", a.caFile}},
	}

	cases := []struct {
		name   string
		source string
		// from is the version installed first; empty for the latest.
		from string
		// reuse is how the upgrade keeps the installed values:
		// --reuse-values (the README's command) unless set.
		reuse string
	}{
		{name: "https chart repository", source: "https"},
		{name: "oci registry", source: "oci"},
		{name: "https chart repository, upgrade from the previous version", source: "https", from: previousVersion},
		{name: "oci registry, upgrade from the previous version", source: "oci", from: previousVersion},
		{name: "https chart repository, upgrade from the previous version with --reset-then-reuse-values", source: "https", from: previousVersion, reuse: "--reset-then-reuse-values"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRelease(t)
			src := sources[tc.source]
			first := cmp.Or(tc.from, a.version)
			install(t, r, a, src, tc.from)
			upgradeToHA(t, r, a, src, cmp.Or(tc.reuse, "--reuse-values"), tc.from != "")
			rollBack(t, r, first, a.version)
		})
	}
}

// install runs the README's install command with provenance verification:
//
//	helm upgrade --install primus primus --repo URL --ca-file CA --namespace NS --create-namespace --verify --keyring KEYRING
//
// (with --version when version is set), and checks the one-replica install.
func install(t *testing.T, r *release, a *artifacts, src source, version string) {
	args := append([]string{"upgrade", "--install", r.name, src.chart}, src.flags...)
	args = append(args, "--create-namespace", "--verify", "--keyring", a.key.pubring)
	if version != "" {
		args = append(args, "--version", version)
	}
	served := 0
	if src.requests != nil {
		served = len(src.requests())
	}
	r.mustHelm(args...)
	version = cmp.Or(version, a.version)
	if src.requests != nil {
		assert.Contains(t, src.requests()[served:], "primus-"+version+".tgz.prov", "--verify fetched the provenance file")
	}
	r.waitRollout(1)
	assert.Equal(t, []string{"1 deployed primus-" + version}, r.history())
	r.verifyLive()
}

// upgradeToHA runs the README's one HA command, reuse being --reuse-values
// or --reset-then-reuse-values:
//
//	helm upgrade primus primus --repo URL --ca-file CA --namespace NS --reuse-values --set replicaCount=3
//
// and checks the live HA invariants. fromPrevious says the release was
// installed from previousVersion, whose values lack keysAddedSincePrevious.
func upgradeToHA(t *testing.T, r *release, a *artifacts, src source, reuse string, fromPrevious bool) {
	args := append([]string{"upgrade", r.name, src.chart}, src.flags...)
	r.mustHelm(append(args, reuse, "--set", "replicaCount=3")...)
	pods := r.waitRollout(3)
	assert.Len(t, nodesOf(pods), 3, "3 replicas on 3 nodes: %s", describe(pods))
	r.waitPDB(1)
	checks := r.verifyLive()
	for _, id := range []string{"replicas-ready", "spread-nodes", "spread-zones", "pdb", "lease", "rbac"} {
		assert.Contains(t, checks, id, "live check %s ran", id)
	}
	history := r.history()
	require.Len(t, history, 2)
	assert.Equal(t, "2 deployed primus-"+a.version, history[1], "upgraded to the latest version")
	d := r.deployment()
	assert.Equal(t, "primus-"+a.version, d.Labels["helm.sh/chart"])
	if !fromPrevious {
		return
	}
	// --reuse-values renders the new templates with the old chart's
	// values: the keys the new chart added are absent, and the templates'
	// defaults must stand in for them. --reset-then-reuse-values takes the
	// new chart's values.yaml and keeps only the user's overrides.
	vals := r.values()
	for _, key := range keysAddedSincePrevious {
		assert.Equal(t, reuse == "--reset-then-reuse-values", hasPath(vals, key),
			"the release's values have %s only with the new chart's defaults", key)
	}
	assert.EqualValues(t, 3, vals["replicaCount"])
	require.NotEmpty(t, d.Spec.Template.Spec.TopologySpreadConstraints, "topology spread on by default")
	assert.Equal(t, "topology.kubernetes.io/zone", d.Spec.Template.Spec.TopologySpreadConstraints[0].TopologyKey)
}

// rollBack runs the README's rollback, `helm rollback primus 1 --namespace
// NS`, and checks the release is back to one replica of the first chart.
func rollBack(t *testing.T, r *release, first, latest string) {
	r.mustHelm("rollback", r.name, "1")
	r.waitRollout(1)
	assert.Equal(t, []string{"1 superseded primus-" + first, "2 superseded primus-" + latest, "3 deployed primus-" + first},
		r.history(), "rolled back to revision 1's chart")
	assert.Eventually(t, func() bool {
		_, err := r.client.PolicyV1().PodDisruptionBudgets(r.namespace).Get(context.Background(), r.name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}, 30*time.Second, 250*time.Millisecond, "no PodDisruptionBudget at one replica after the rollback")
	r.verifyLive()
}

// serveRepository serves the packaged charts over HTTPS with a certificate
// of the suite's CA, stopped in t.Cleanup.
func serveRepository(t *testing.T, a *artifacts) *chartrepo.Server {
	t.Helper()
	tlsConfig, err := a.ca.ServerConfig()
	require.NoError(t, err)
	srv, err := chartrepo.Serve(a.dir, tlsConfig)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.Close(), "stop the chart repository") })
	return srv
}

func nodesOf(pods []corev1.Pod) map[string]bool {
	nodes := map[string]bool{}
	for _, p := range pods {
		nodes[p.Spec.NodeName] = true
	}
	return nodes
}

// hasPath reports whether the dotted key path is set in nested values.
func hasPath(vals map[string]any, path string) bool {
	var v any = vals
	for _, key := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = m[key]; !ok {
			return false
		}
	}
	return true
}
