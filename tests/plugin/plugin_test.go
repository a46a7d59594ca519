package plugin

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart/loader"
	helmplugin "helm.sh/helm/v3/pkg/plugin"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/hacheck/render"
)

// repoRoot is the checkout: the folder `helm plugin install` is given.
var repoRoot = filepath.Join("..", "..")

// helmEnv is a helm CLI with its plugin, data, config and cache homes in a
// temp dir, so installing the plugin touches nothing of the user's.
type helmEnv struct {
	bin string
	env []string
}

func newHelm(t *testing.T, extraEnv ...string) *helmEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	bins, err := cluster.EnsureBinaries(ctx, cluster.BinaryOptions{Log: os.Stderr})
	require.NoError(t, err)
	home := t.TempDir()
	env := append(os.Environ(),
		"HELM_PLUGINS="+filepath.Join(home, "plugins"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
	)
	return &helmEnv{bin: bins.Helm, env: append(env, extraEnv...)}
}

// run runs helm with args and returns its exit code and combined output.
func (h *helmEnv) run(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.bin, args...)
	cmd.Env = h.env
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), string(out)
	}
	require.NoError(t, err, "helm %v", args)
	return 0, string(out)
}

// notFound is a release server with no releases: what the hook sees from a
// checkout whose version was never released, or offline.
func notFound(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestPluginYAMLLoads checks plugin.yaml with Helm's own loader and that its
// version is the chart's, the release tag the install hook downloads.
func TestPluginYAMLLoads(t *testing.T) {
	p, err := helmplugin.LoadDir(repoRoot)
	require.NoError(t, err)
	chart, err := loader.LoadDir(filepath.Join(repoRoot, "charts", "primus"))
	require.NoError(t, err)
	assert.Equal(t, "hacheck", p.Metadata.Name)
	assert.Equal(t, chart.Metadata.Version, p.Metadata.Version, "plugin.yaml version must move with charts/primus/Chart.yaml")
	assert.NotEmpty(t, p.Metadata.PlatformHooks[helmplugin.Install])
	assert.NotEmpty(t, p.Metadata.PlatformHooks[helmplugin.Update])
}

// TestPluginFromCheckout installs the plugin from this repository folder
// with no release reachable, so the hook builds hacheck from source, then
// runs `helm hacheck check` on the chart as a chart author would.
func TestPluginFromCheckout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds hacheck and needs the helm CLI")
	}
	h := newHelm(t, "HACHECK_RELEASE_URL="+notFound(t))
	code, out := h.run(t, "plugin", "install", repoRoot)
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "building from the checkout")

	code, out = h.run(t, "plugin", "list")
	require.Equal(t, 0, code, out)
	assert.Regexp(t, `(?m)^hacheck\s+0\.\d+\.\d+`, out)

	chart := filepath.Join(repoRoot, "charts", "primus")
	cases := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{name: "HA install holds", args: []string{"--set", "replicaCount=3"}, wantCode: 0, wantOut: "hold"},
		{name: "no PDB at 3 replicas", args: []string{"--set", "replicaCount=3", "--set", "podDisruptionBudget.enabled=false"}, wantCode: 1, wantOut: "pdb-present"},
		{name: "schema rejects zero replicas", args: []string{"--set", "replicaCount=0"}, wantCode: 2, wantOut: "replicaCount: must be >= 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out := h.run(t, append([]string{"hacheck", "check", chart}, tc.args...)...)
			assert.Equal(t, tc.wantCode, code, out)
			assert.Contains(t, out, tc.wantOut)
		})
	}

	// helm keeps -n for itself and hands it to the plugin as
	// $HELM_NAMESPACE, which hacheck takes as the release namespace.
	t.Run("helm -n reaches hacheck", func(t *testing.T) {
		code, out := h.run(t, "-n", "ops", "hacheck", "render", chart)
		require.Equal(t, 0, code, out)
		objs, err := render.Decode(out)
		require.NoError(t, err)
		deployments := render.Find(objs, "Deployment")
		require.Len(t, deployments, 1)
		assert.Equal(t, "ops", deployments[0].GetNamespace())
	})
}

// pluginVersion is plugin.yaml's version, read with Helm's loader: the
// release tag the install hook downloads.
func pluginVersion(t *testing.T) string {
	t.Helper()
	p, err := helmplugin.LoadDir(repoRoot)
	require.NoError(t, err)
	return p.Metadata.Version
}

// release is a fake GitHub release: the archive and checksums file the hook
// downloads, as ci/build-hacheck.sh names them.
type release struct {
	archive []byte
	sums    string
}

func (r release) serve(t *testing.T, version string) string {
	mux := http.NewServeMux()
	prefix := "/v" + version + "/hacheck_" + version
	mux.HandleFunc(prefix+"_"+runtime.GOOS+"_"+runtime.GOARCH+".tar.gz", func(w http.ResponseWriter, _ *http.Request) { w.Write(r.archive) })
	mux.HandleFunc(prefix+"_checksums.txt", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, r.sums) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// fakeArchive is a release archive whose hacheck is a script, so the
// checksum path is tested without building anything.
func fakeArchive(t *testing.T) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	script := []byte("#!/bin/sh\necho \"fake hacheck $*\"\n")
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "./hacheck", Mode: 0o755, Size: int64(len(script)), Typeflag: tar.TypeReg}))
	_, err := tw.Write(script)
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	return buf.Bytes()
}

// pluginCopy is a plugin folder that is not a checkout (plugin.yaml and the
// hook only, no go.mod), as a release install would see it: no source
// fallback.
func pluginCopy(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "hacheck")
	hook := filepath.Join("tools", "hacheck", "helm-plugin", "install.sh")
	for _, f := range []string{"plugin.yaml", hook} {
		data, err := os.ReadFile(filepath.Join(repoRoot, f))
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), data, 0o755))
	}
	return dir
}

// TestPluginInstallVerifiesChecksum serves a fake release from a local
// server and checks the hook installs the archive only when its sha256 is
// the one in the checksums file.
func TestPluginInstallVerifiesChecksum(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the helm CLI")
	}
	version := pluginVersion(t)
	good := fakeArchive(t)
	sum := sha256.Sum256(good)
	name := fmt.Sprintf("hacheck_%s_%s_%s.tar.gz", version, runtime.GOOS, runtime.GOARCH)
	sums := fmt.Sprintf("%s  %s\n%s  hacheck_%s_other_arch.tar.gz\n", hex.EncodeToString(sum[:]), name, hex.EncodeToString(make([]byte, 32)), version)
	tampered := append(bytes.Clone(good[:len(good)-1]), good[len(good)-1]^0xff)

	cases := []struct {
		name      string
		release   *release
		wantCode  int
		wantOut   string
		installed bool
	}{
		{name: "verified archive installs", release: &release{archive: good, sums: sums}, wantCode: 0, wantOut: "sha256 verified", installed: true},
		{name: "tampered archive is refused", release: &release{archive: tampered, sums: sums}, wantCode: 1, wantOut: "refusing " + name + ": sha256"},
		{name: "archive missing from checksums is refused", release: &release{archive: good, sums: "0000  hacheck_other.tar.gz\n"}, wantCode: 1, wantOut: "refusing " + name + ": no checksum"},
		{name: "no release and no checkout fails", wantCode: 1, wantOut: "could not download"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := notFound(t)
			if tc.release != nil {
				url = tc.release.serve(t, version)
			}
			h := newHelm(t, "HACHECK_RELEASE_URL="+url)
			dir := pluginCopy(t)
			code, out := h.run(t, "plugin", "install", dir)
			assert.Equal(t, tc.wantCode, code, out)
			assert.Contains(t, out, tc.wantOut)
			_, statErr := os.Stat(filepath.Join(dir, "bin", "hacheck"))
			if !tc.installed {
				assert.True(t, os.IsNotExist(statErr), "bin/hacheck must not be installed: %v", statErr)
				return
			}
			require.NoError(t, statErr)
			code, out = h.run(t, "hacheck", "version")
			assert.Equal(t, 0, code, out)
			assert.Equal(t, "fake hacheck version\n", out)
		})
	}
}

// TestPluginInstallsTheReleaseArchive builds this platform's release
// archive and checksums with ci/build-hacheck.sh, as the release workflow
// does, serves them as the release, installs the plugin from a copy that is
// not a checkout, and runs the installed hacheck: the script's names, its
// checksum file and the hook agree, and the binary reports the tag.
func TestPluginInstallsTheReleaseArchive(t *testing.T) {
	if testing.Short() {
		t.Skip("builds hacheck and needs the helm CLI")
	}
	version := pluginVersion(t)
	dist := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "bash", filepath.Join(repoRoot, "ci", "build-hacheck.sh"),
		"--tag", "v"+version, "--destination", dist, "--platforms", runtime.GOOS+"/"+runtime.GOARCH)
	out, err := build.CombinedOutput()
	require.NoError(t, err, "ci/build-hacheck.sh: %s", out)
	assert.Contains(t, string(out), "built 1 hacheck archive(s)")

	mux := http.NewServeMux()
	mux.Handle("/v"+version+"/", http.StripPrefix("/v"+version, http.FileServer(http.Dir(dist))))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	h := newHelm(t, "HACHECK_RELEASE_URL="+srv.URL)
	code, installOut := h.run(t, "plugin", "install", pluginCopy(t))
	require.Equal(t, 0, code, installOut)
	assert.Contains(t, installOut, "sha256 verified")

	code, versionOut := h.run(t, "hacheck", "version")
	require.Equal(t, 0, code, versionOut)
	// helm's output may carry its own warnings: look for hacheck's line.
	assert.Regexp(t, `(?m)^hacheck v`+regexp.QuoteMeta(version)+` `+runtime.GOOS+`/`+runtime.GOARCH+` go`, versionOut)

	code, checkOut := h.run(t, "hacheck", "check", filepath.Join(repoRoot, "charts", "primus"), "--set", "replicaCount=3")
	assert.Equal(t, 0, code, checkOut)
	assert.Contains(t, checkOut, "invariants hold")
}
