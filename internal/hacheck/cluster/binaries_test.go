package cluster

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/internal/testharness/syncbuf"
)

func TestCacheKey(t *testing.T) {
	tests := []struct {
		name      string
		goVersion string
		want      string
	}{
		{name: "release toolchain", goVersion: "go1.26.8", want: "k8s-v1.37.2_etcd-v3.7.0_kwok-v0.8.0_helm-v3.22.0_go1.26.8"},
		{name: "other toolchain gets its own dir", goVersion: "go1.27.0", want: "k8s-v1.37.2_etcd-v3.7.0_kwok-v0.8.0_helm-v3.22.0_go1.27.0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, cacheKey(tc.goVersion))
		})
	}
}

func TestCacheRoot(t *testing.T) {
	home := func() (string, error) { return "/home/u", nil }
	noHome := func() (string, error) { return "", errors.New("no home") }
	tests := []struct {
		name    string
		env     map[string]string
		home    func() (string, error)
		want    string
		wantErr bool
	}{
		{name: "PRIMUS_CACHE_DIR wins", env: map[string]string{"PRIMUS_CACHE_DIR": "/c", "XDG_CACHE_HOME": "/x"}, home: home, want: "/c"},
		{name: "XDG_CACHE_HOME next", env: map[string]string{"XDG_CACHE_HOME": "/x"}, home: home, want: "/x/primus"},
		{name: "home last", home: home, want: "/home/u/.cache/primus"},
		{name: "nothing at all", home: noHome, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cacheRoot(func(k string) string { return tc.env[k] }, tc.home)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestVersionsMatchClusterbin keeps the constants and the module that builds
// the control plane in step.
func TestVersionsMatchClusterbin(t *testing.T) {
	root, err := FindRepoRoot()
	require.NoError(t, err)
	required := requiredModules(t, filepath.Join(root, "tools", "clusterbin", "go.mod"))
	tests := []struct {
		module string
		want   string
	}{
		{module: "k8s.io/kubernetes", want: KubernetesVersion},
		{module: "go.etcd.io/etcd/server/v3", want: EtcdVersion},
	}
	for _, tc := range tests {
		t.Run(tc.module, func(t *testing.T) {
			assert.Equal(t, tc.want, required[tc.module])
		})
	}
}

// requiredModules returns module -> version of the require directives of a
// go.mod file.
func requiredModules(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	mods := map[string]string{}
	inBlock := false
	s := bufio.NewScanner(f)
	for s.Scan() {
		line, _, _ := strings.Cut(s.Text(), "//")
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0:
		case fields[0] == "require" && len(fields) == 2 && fields[1] == "(":
			inBlock = true
		case fields[0] == ")":
			inBlock = false
		case fields[0] == "require" && len(fields) == 3:
			mods[fields[1]] = fields[2]
		case inBlock && len(fields) == 2:
			mods[fields[0]] = fields[1]
		}
	}
	require.NoError(t, s.Err())
	return mods
}

func TestBuildSteps(t *testing.T) {
	steps := buildSteps("/repo", "/out")
	require.Len(t, steps, 3)
	tests := []struct {
		name     string
		step     buildStep
		wantDir  string
		wantCmd  string
		wantPkgs []string
	}{
		{
			name: "control plane from tools/clusterbin", step: steps[0], wantDir: "/repo/tools/clusterbin", wantCmd: "build",
			wantPkgs: []string{"k8s.io/kubernetes/cmd/kube-apiserver", "k8s.io/kubernetes/cmd/kube-controller-manager", "k8s.io/kubernetes/cmd/kube-scheduler", "k8s.io/kubernetes/cmd/kubectl", "./etcd"},
		},
		{
			name: "kwok and kwokctl, one module", step: steps[1], wantDir: "/repo", wantCmd: "install",
			wantPkgs: []string{"sigs.k8s.io/kwok/cmd/kwok@v0.8.0", "sigs.k8s.io/kwok/cmd/kwokctl@v0.8.0"},
		},
		{
			name: "helm alone", step: steps[2], wantDir: "/repo", wantCmd: "install",
			wantPkgs: []string{"helm.sh/helm/v3/cmd/helm@v3.22.0"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.wantDir, tc.step.dir)
			assert.Equal(t, tc.wantCmd, tc.step.args[0])
			assert.Equal(t, tc.wantPkgs, tc.step.args[len(tc.step.args)-len(tc.wantPkgs):])
			assert.Contains(t, tc.step.args, "-trimpath")
		})
	}
	assert.Contains(t, kubeLDFlags(), "-X k8s.io/component-base/version.gitVersion=v1.37.2")
	assert.Contains(t, kubeLDFlags(), "-X k8s.io/component-base/version.gitMinor=37")
	assert.Contains(t, helmLDFlags(), "-X helm.sh/helm/v3/internal/version.version=v3.22.0")
}

func TestEnsureBinariesUsesCompleteCache(t *testing.T) {
	cache := t.TempDir()
	dir := filepath.Join(cache, "bin", cacheKey(goVersion(t.Context())))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, name := range binaryNames {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755))
	}
	// RepoRoot points nowhere: any attempt to build would fail.
	got, err := EnsureBinaries(t.Context(), BinaryOptions{CacheDir: cache, RepoRoot: "/nonexistent"})
	require.NoError(t, err)
	assert.Equal(t, binariesIn(dir), got)
	assert.Equal(t, filepath.Join(dir, "kube-apiserver"), got.KubeAPIServer)
	assert.Equal(t, filepath.Join(dir, "helm"), got.Helm)
}

func TestBinariesMissing(t *testing.T) {
	tests := []struct {
		name    string
		present map[string]os.FileMode
		want    []string
	}{
		{name: "empty dir", want: binaryNames},
		{
			name:    "not executable counts as missing",
			present: map[string]os.FileMode{"kube-apiserver": 0o755, "kube-controller-manager": 0o755, "kube-scheduler": 0o755, "etcd": 0o755, "kwok": 0o755, "kwokctl": 0o755, "helm": 0o644, "kubectl": 0o755},
			want:    []string{"helm"},
		},
		{
			name:    "complete",
			present: map[string]os.FileMode{"kube-apiserver": 0o755, "kube-controller-manager": 0o755, "kube-scheduler": 0o755, "etcd": 0o755, "kwok": 0o755, "kwokctl": 0o755, "helm": 0o755, "kubectl": 0o755},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, mode := range tc.present {
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), nil, mode))
			}
			assert.Equal(t, tc.want, binariesIn(dir).missing())
		})
	}
}

func TestBinariesEnviron(t *testing.T) {
	t.Setenv("PATH", "/usr/bin")
	b := binariesIn("/cache/bin/k")
	assert.Equal(t, "/cache/bin/k:/usr/bin", b.PATH())
	var paths []string
	for _, e := range b.Environ() {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			paths = append(paths, v)
		}
	}
	assert.Equal(t, []string{"/cache/bin/k:/usr/bin"}, paths)
}

func TestWithEnv(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		kvs  []string
		want []string
	}{
		{name: "replaces", env: []string{"A=1", "B=2"}, kvs: []string{"A=3"}, want: []string{"B=2", "A=3"}},
		{name: "adds", env: []string{"A=1"}, kvs: []string{"C=3"}, want: []string{"A=1", "C=3"}},
		{name: "prefix is not a match", env: []string{"AB=1"}, kvs: []string{"A=3"}, want: []string{"AB=1", "A=3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, withEnv(tc.env, tc.kvs...))
		})
	}
}

func TestTailBuffer(t *testing.T) {
	tests := []struct {
		name   string
		max    int
		writes []string
		n      int
		want   string
	}{
		{name: "last lines", max: 1024, writes: []string{"a\nb\n", "c\nd\n"}, n: 2, want: "c\nd"},
		{name: "fewer lines than asked", max: 1024, writes: []string{"a\n"}, n: 5, want: "a"},
		{name: "keeps only max bytes", max: 4, writes: []string{"aaaa\nbb\n"}, n: 5, want: "\nbb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &tailBuffer{max: tc.max}
			for _, w := range tc.writes {
				_, err := b.Write([]byte(w))
				require.NoError(t, err)
			}
			assert.Equal(t, tc.want, b.lastLines(tc.n))
		})
	}
}

func TestFindModuleRoot(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "internal", "x")
	other := filepath.Join(root, "tools", "clusterbin")
	require.NoError(t, os.MkdirAll(sub, 0o755))
	require.NoError(t, os.MkdirAll(other, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "go.mod"), []byte("module github.com/primus-dev/primus\n\ngo 1.26.0\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(other, "go.mod"), []byte("module github.com/primus-dev/primus/tools/clusterbin\n"), 0o644))
	tests := []struct {
		name   string
		from   string
		want   string
		wantOK bool
	}{
		{name: "from a package dir", from: sub, want: root, wantOK: true},
		{name: "skips a nested module", from: other, want: root, wantOK: true},
		{name: "outside the repository", from: t.TempDir(), wantOK: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := findModuleRoot(tc.from, modulePath)
			assert.Equal(t, tc.wantOK, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestLockFileExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := lockFile(t.Context(), path, newLogger(nil))
	require.NoError(t, err)
	// flock locks belong to the open file description, so a second open in
	// the same process contends like another process would.
	ctx, cancel := context.WithTimeout(t.Context(), 700*time.Millisecond)
	defer cancel()
	_, err = lockFile(ctx, path, newLogger(nil))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	unlock()
	unlock2, err := lockFile(t.Context(), path, newLogger(nil))
	require.NoError(t, err)
	unlock2()
}

// TestEnsureBinariesWaitsForConcurrentBuild plays the second of two test
// packages starting at once: another "process" holds the build lock and
// completes the cache; EnsureBinaries must wait, then use that cache
// instead of building (RepoRoot points nowhere, so a build would fail).
func TestEnsureBinariesWaitsForConcurrentBuild(t *testing.T) {
	cache := t.TempDir()
	binRoot := filepath.Join(cache, "bin")
	key := cacheKey(goVersion(t.Context()))
	require.NoError(t, os.MkdirAll(binRoot, 0o755))
	unlock, err := lockFile(t.Context(), filepath.Join(binRoot, key+".lock"), newLogger(nil))
	require.NoError(t, err)

	// The other process completes the cache once EnsureBinaries waits
	// for its lock, so it can neither find the cache complete early nor
	// build it itself.
	var log syncbuf.Buffer
	go func() {
		defer unlock()
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(log.String(), "waiting for another process") && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		dir := filepath.Join(binRoot, key)
		_ = os.MkdirAll(dir, 0o755)
		for _, name := range binaryNames {
			_ = os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755)
		}
	}()

	got, err := EnsureBinaries(t.Context(), BinaryOptions{CacheDir: cache, RepoRoot: "/nonexistent", Log: &log})
	require.NoError(t, err)
	assert.Empty(t, got.missing())
	assert.Contains(t, log.String(), "waiting for another process")
}

func TestBuildStepFailureShowsOutput(t *testing.T) {
	step := buildStep{what: "nothing", dir: t.TempDir(), args: []string{"build", "./does-not-exist"}}
	var log strings.Builder
	err := step.run(t.Context(), newLogger(&log), time.Hour, 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "build nothing")
	assert.Contains(t, err.Error(), "go.mod", "the go command's own message must be in the error")
	assert.Contains(t, log.String(), `msg="building nothing"`)
}
