package repository

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/primus-dev/primus/internal/testharness/chartrepo"
)

// TestPackage checks what ci/package.sh published: the index lists both
// versions, newest first, each pointing at its archive with the right
// digest, with version and appVersion from Chart.yaml, and each archive is
// the chart.
func TestPackage(t *testing.T) {
	a := built(t)
	idx, err := chartrepo.ReadIndex(a.dir)
	require.NoError(t, err, "index.yaml decodes and agrees with the archives")
	require.Len(t, idx.Entries, 1, "one chart in the repository")
	versions := idx.Entries["primus"]
	require.Len(t, versions, 2)
	assert.Equal(t, a.version, versions[0].Version, "newest first")
	assert.Equal(t, previousVersion, versions[1].Version)

	current, err := loader.Load(chartPath())
	require.NoError(t, err)
	for _, cv := range versions {
		t.Run(cv.Version, func(t *testing.T) {
			assert.Equal(t, cv.Version, cv.AppVersion, "appVersion is the version: one tag releases chart and image")
			assert.Equal(t, []string{"primus-" + cv.Version + ".tgz"}, cv.URLs, "relative URL, resolved against the repository URL")
			assert.FileExists(t, a.archive(cv.Version)+".prov", "signed")

			ch, err := loader.Load(a.archive(cv.Version))
			require.NoError(t, err)
			assert.Equal(t, cv.Metadata, ch.Metadata, "the index entry is the archive's Chart.yaml")
			assert.Equal(t, chart.APIVersionV2, ch.Metadata.APIVersion)
			assert.NotEmpty(t, ch.Schema, "values.schema.json is packaged")
			assert.Len(t, ch.CRDObjects(), len(current.CRDObjects()), "CRDs are packaged")
			assert.Len(t, ch.Templates, len(current.Templates))
			if cv.Version == a.version {
				assert.Equal(t, current.Metadata, ch.Metadata, "packaged exactly as charts/primus/Chart.yaml says")
			}
		})
	}
}

// TestVerify runs `helm verify` on the packaged chart: it passes with the
// release key's public keyring only, and on the archive that was signed
// only.
func TestVerify(t *testing.T) {
	a := built(t)
	dir := t.TempDir()
	tampered := filepath.Join(dir, "primus-"+a.version+".tgz")
	data, err := os.ReadFile(a.archive(a.version))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(tampered, append(data, 0), 0o644))
	prov, err := os.ReadFile(a.archive(a.version) + ".prov")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(tampered+".prov", prov, 0o644))
	unsigned := filepath.Join(dir, "unsigned", "primus-"+a.version+".tgz")
	require.NoError(t, os.MkdirAll(filepath.Dir(unsigned), 0o755))
	require.NoError(t, os.WriteFile(unsigned, data, 0o644))

	cases := []struct {
		name    string
		archive string
		keyring string
		valid   bool
	}{
		{"signed archive, release public keyring", a.archive(a.version), a.key.pubring, true},
		{"previous version, release public keyring", a.archive(previousVersion), a.key.pubring, true},
		{"signed archive, another key's keyring", a.archive(a.version), a.stranger.pubring, false},
		{"archive changed after signing", tampered, a.key.pubring, false},
		{"archive without provenance file", unsigned, a.key.pubring, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, code := exitStatus(exec.Command("helm", "verify", tc.archive, "--keyring", tc.keyring))
			if tc.valid {
				assert.Equal(t, 0, code, "helm verify exits 0:\n%s", out)
			} else {
				assert.Equal(t, 1, code, "helm verify exits 1:\n%s", out)
			}
		})
	}
}

// TestPackageRefuses checks that ci/package.sh refuses a release whose
// versions disagree, before packaging anything.
func TestPackageRefuses(t *testing.T) {
	cases := []struct {
		name string
		args []string
		exit int
	}{
		{"tag is not v<version>", []string{"--tag", "v9.9.9"}, 1},
		{"appVersion differs from version", []string{"--chart", editedChart(t, func(m *chart.Metadata) {
			m.AppVersion = "9.9.9"
		})}, 1},
		{"annotation image tag differs from appVersion", []string{"--chart", editedChart(t, func(m *chart.Metadata) {
			m.Annotations["artifacthub.io/images"] = "- name: primus\n  image: ghcr.io/primus-dev/primus:9.9.9\n"
		})}, 1},
		{"unknown flag", []string{"--version", "9.9.9"}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dest := t.TempDir()
			cmd := exec.Command("bash", append([]string{filepath.Join("ci", "package.sh"), "--destination", dest}, tc.args...)...)
			cmd.Dir = repoRoot()
			out, code := exitStatus(cmd)
			assert.Equal(t, tc.exit, code, "exit status:\n%s", out)
			entries, err := os.ReadDir(dest)
			require.NoError(t, err)
			assert.Empty(t, entries, "nothing packaged")
		})
	}
}

// editedChart copies charts/primus and edits the copy's Chart.yaml.
func editedChart(t *testing.T, edit func(*chart.Metadata)) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "primus")
	require.NoError(t, os.CopyFS(dir, os.DirFS(chartPath())))
	var meta chart.Metadata
	require.NoError(t, editYAML(filepath.Join(dir, "Chart.yaml"), &meta, func() { edit(&meta) }))
	return dir
}

// exitStatus runs cmd and returns its combined output and exit status.
func exitStatus(cmd *exec.Cmd) (string, int) {
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode()
	}
	if err != nil {
		return string(out) + err.Error(), -1
	}
	return string(out), 0
}
