package repository

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"sigs.k8s.io/yaml"

	"github.com/primus-dev/primus/internal/testharness/tlsca"
)

// previousVersion is the "last release" the suite upgrades from: the
// current chart with the values.yaml of an older one, which lacked
// sections the current chart added.
const previousVersion = "0.0.9"

// keysAddedSincePrevious are the values.yaml keys previousVersion lacks,
// as dotted paths.
var keysAddedSincePrevious = []string{"topologySpread", "podDisruptionBudget", "leaderElection.podDeletionCost"}

// artifacts is what a release publishes, built once per test binary by
// ci/package.sh: both versions packaged and signed into one directory with
// the index, as the chart repository serves it.
type artifacts struct {
	// dir holds index.yaml and primus-<version>.tgz and .tgz.prov for
	// version and previousVersion.
	dir string
	// version is the current chart's version, from charts/primus/Chart.yaml.
	version string
	// key signed the archives; stranger did not.
	key, stranger signingKey
	// ca issued the servers' certificates; caFile is it in PEM, for
	// --ca-file.
	ca     *tlsca.CA
	caFile string
}

// archive is the path of the packaged chart of version.
func (a *artifacts) archive(version string) string {
	return filepath.Join(a.dir, fmt.Sprintf("primus-%s.tgz", version))
}

var (
	buildOnce  sync.Once
	buildValue *artifacts
	buildErr   error
)

// built returns the suite's artifacts, building them on first use.
func built(t *testing.T) *artifacts {
	t.Helper()
	buildOnce.Do(func() { buildValue, buildErr = build() })
	require.NoError(t, buildErr, "package the chart")
	return buildValue
}

// build generates the keys and the CA and runs ci/package.sh for the
// previous and the current version.
func build() (*artifacts, error) {
	work := filepath.Join(workDir, "artifacts")
	a := &artifacts{dir: filepath.Join(work, "repo"), caFile: filepath.Join(work, "ca.crt")}
	if err := os.MkdirAll(a.dir, 0o755); err != nil {
		return nil, err
	}
	var err error
	if a.key, err = newSigningKey(work, "primus-release", "release passphrase"); err != nil {
		return nil, err
	}
	if a.stranger, err = newSigningKey(work, "stranger", "another passphrase"); err != nil {
		return nil, err
	}
	if a.ca, err = tlsca.New("primus repository suite CA"); err != nil {
		return nil, err
	}
	if err := a.ca.WriteFile(a.caFile); err != nil {
		return nil, err
	}
	current, err := loader.Load(chartPath())
	if err != nil {
		return nil, err
	}
	a.version = current.Metadata.Version

	previous := filepath.Join(work, "previous", "primus")
	if err := previousChart(chartPath(), previous); err != nil {
		return nil, err
	}
	for _, chartDir := range []string{previous, chartPath()} {
		out, err := packageScript("--chart", chartDir, "--destination", a.dir,
			"--key", a.key.name, "--keyring", a.key.secring, "--passphrase-file", a.key.passphraseFile)
		if err != nil {
			return nil, fmt.Errorf("ci/package.sh %s: %w\n%s", chartDir, err, out)
		}
	}
	return a, nil
}

// packageScript runs ci/package.sh from the repository root.
func packageScript(args ...string) (string, error) {
	cmd := exec.Command("bash", append([]string{filepath.Join("ci", "package.sh")}, args...)...)
	cmd.Dir = repoRoot()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// previousChart copies the chart at src to dst as previousVersion, with
// keysAddedSincePrevious removed from values.yaml. The templates stay the
// current ones: they must still render with those values.
func previousChart(src, dst string) error {
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		return fmt.Errorf("copy chart: %w", err)
	}
	values := map[string]any{}
	if err := editYAML(filepath.Join(dst, "values.yaml"), &values, func() {
		for _, key := range keysAddedSincePrevious {
			deletePath(values, strings.Split(key, "."))
		}
	}); err != nil {
		return err
	}
	var meta chart.Metadata
	return editYAML(filepath.Join(dst, "Chart.yaml"), &meta, func() {
		old := meta.AppVersion
		meta.Version, meta.AppVersion = previousVersion, previousVersion
		for k, v := range meta.Annotations {
			meta.Annotations[k] = strings.ReplaceAll(v, ":"+old, ":"+previousVersion)
		}
	})
}

// editYAML decodes path into v, calls edit and writes v back.
func editYAML(path string, v any, edit func()) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	edit()
	if data, err = yaml.Marshal(v); err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return os.WriteFile(path, data, 0o644)
}

// deletePath removes the key at path from nested maps.
func deletePath(m map[string]any, path []string) {
	if len(path) == 1 {
		delete(m, path[0])
		return
	}
	if sub, ok := m[path[0]].(map[string]any); ok {
		deletePath(sub, path[1:])
	}
}
