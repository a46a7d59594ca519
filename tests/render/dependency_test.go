package render

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/downloader"
	"helm.sh/helm/v3/pkg/getter"
)

// TestDependenciesLocked runs `helm dependency build` (the Helm SDK's
// downloader) on a copy of each chart built on charts/ha-lib: it fails when
// the chart's Chart.lock disagrees with its Chart.yaml, and the ha-lib
// archive it builds must hold what the committed one in the chart's charts/
// holds, so an edit to the library without a rebuild fails here.
// `go test ./tests/render -update` rebuilds the lock and the archive.
func TestDependenciesLocked(t *testing.T) {
	for _, chartDir := range []string{"charts/primus", "examples/ha-chart"} {
		t.Run(chartDir, func(t *testing.T) { dependenciesLocked(t, chartDir) })
	}
}

// dependenciesLocked checks one chart (a repository-relative path) whose
// file:// dependencies live in charts/.
func dependenciesLocked(t *testing.T, chartDir string) {
	root := filepath.Join("..", "..")
	work := t.TempDir()
	for _, dir := range []string{chartDir, "charts/ha-lib"} {
		require.NoError(t, os.CopyFS(filepath.Join(work, dir), os.DirFS(filepath.Join(root, dir))))
	}
	copyDir := filepath.Join(work, chartDir)
	committedDir := filepath.Join(root, chartDir)
	m := &downloader.Manager{
		Out: io.Discard, ChartPath: copyDir, SkipUpdate: true,
		Getters:          getter.All(cli.New()),
		RepositoryConfig: filepath.Join(work, "repositories.yaml"),
		RepositoryCache:  filepath.Join(work, "cache"),
	}
	if *update {
		require.NoError(t, m.Update())
		for _, f := range []string{"Chart.lock", filepath.Join("charts", "ha-lib-0.1.0.tgz")} {
			data, err := os.ReadFile(filepath.Join(copyDir, f))
			require.NoError(t, err)
			require.NoError(t, os.MkdirAll(filepath.Join(committedDir, "charts"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(committedDir, f), data, 0o644))
		}
		return
	}
	require.FileExists(t, filepath.Join(committedDir, "Chart.lock"), "run go test ./tests/render -update")
	require.NoError(t, m.Build(), "helm dependency build %s", chartDir)

	built := loadArchives(t, filepath.Join(copyDir, "charts"))
	committed := loadArchives(t, filepath.Join(committedDir, "charts"))
	require.Equal(t, keys(built), keys(committed), "%s/charts/ holds one archive per locked dependency", chartDir)
	for name, b := range built {
		c := committed[name]
		assert.Equal(t, b.Metadata, c.Metadata, name)
		assert.Equal(t, files(b.Templates), files(c.Templates), "%s templates: run go test ./tests/render -update", name)
		assert.Equal(t, files(b.Raw), files(c.Raw), name)
	}
}

func loadArchives(t *testing.T, dir string) map[string]*chart.Chart {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.tgz"))
	require.NoError(t, err)
	out := map[string]*chart.Chart{}
	for _, p := range paths {
		ch, err := loader.Load(p)
		require.NoError(t, err)
		out[filepath.Base(p)] = ch
	}
	return out
}

func keys(m map[string]*chart.Chart) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func files(fs []*chart.File) map[string]string {
	out := map[string]string{}
	for _, f := range fs {
		out[f.Name] = string(f.Data)
	}
	return out
}
