package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// CacheDirEnv names the environment variable that overrides the cache root
// used by EnsureBinaries.
const CacheDirEnv = "PRIMUS_CACHE_DIR"

// Binaries holds the absolute paths of the executables the embedded cluster
// runs. All of them live in Dir.
type Binaries struct {
	// Dir is the directory holding every binary below.
	Dir                   string
	KubeAPIServer         string
	KubeControllerManager string
	KubeScheduler         string
	Etcd                  string
	Kwok                  string
	Kwokctl               string
	Helm                  string
	// Kubectl is kubectl of the same Kubernetes version, for the user (the
	// quick start's `kubectl get projects`); the cluster does not run it.
	Kubectl string
}

// BinaryOptions configures EnsureBinaries. The zero value is ready to use.
type BinaryOptions struct {
	// CacheDir is the cache root. When empty it is $PRIMUS_CACHE_DIR, else
	// $XDG_CACHE_HOME/primus, else ~/.cache/primus.
	CacheDir string
	// RepoRoot is the root of the Primus repository, whose tools/clusterbin
	// module builds the control plane. When empty it is found by walking up
	// from the working directory (or from this source file) to the go.mod of
	// module github.com/primus-dev/primus. It is only needed when something must be
	// built.
	RepoRoot string
	// Log receives one line per build step and a heartbeat while a step
	// runs. Nil discards them.
	Log io.Writer
	// Heartbeat is the interval of the "still building" lines; 30s when zero.
	Heartbeat time.Duration
}

// binaryNames lists the executables EnsureBinaries provides, in build order.
var binaryNames = []string{
	"kube-apiserver",
	"kube-controller-manager",
	"kube-scheduler",
	"etcd",
	"kwok",
	"kwokctl",
	"helm",
	"kubectl",
}

// binariesIn returns the paths the binaries have in dir.
func binariesIn(dir string) Binaries {
	p := func(name string) string { return filepath.Join(dir, name) }
	return Binaries{
		Dir:                   dir,
		KubeAPIServer:         p("kube-apiserver"),
		KubeControllerManager: p("kube-controller-manager"),
		KubeScheduler:         p("kube-scheduler"),
		Etcd:                  p("etcd"),
		Kwok:                  p("kwok"),
		Kwokctl:               p("kwokctl"),
		Helm:                  p("helm"),
		Kubectl:               p("kubectl"),
	}
}

// missing returns the binaries of b that are not executable regular files.
func (b Binaries) missing() []string {
	var out []string
	for _, name := range binaryNames {
		fi, err := os.Stat(filepath.Join(b.Dir, name))
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			out = append(out, name)
		}
	}
	return out
}

// PATH returns the value of $PATH with b.Dir in front, so that child
// processes looking up "helm" or "kwokctl" find the pinned ones. Use it as
// t.Setenv("PATH", bins.PATH()) in tests, or in Environ for one command.
func (b Binaries) PATH() string {
	old := os.Getenv("PATH")
	if old == "" {
		return b.Dir
	}
	return b.Dir + string(os.PathListSeparator) + old
}

// Environ returns os.Environ() with PATH replaced by b.PATH(), for
// exec.Cmd.Env.
func (b Binaries) Environ() []string {
	return withEnv(os.Environ(), "PATH="+b.PATH())
}

// withEnv returns env with the given KEY=VALUE entries set, replacing any
// earlier value of the same keys.
func withEnv(env []string, kvs ...string) []string {
	out := make([]string, 0, len(env)+len(kvs))
	for _, e := range env {
		key, _, _ := strings.Cut(e, "=")
		replaced := false
		for _, kv := range kvs {
			if k, _, _ := strings.Cut(kv, "="); k == key {
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, e)
		}
	}
	return append(out, kvs...)
}

// CacheRoot returns the cache root EnsureBinaries uses when
// BinaryOptions.CacheDir is empty: $PRIMUS_CACHE_DIR, else
// $XDG_CACHE_HOME/primus, else ~/.cache/primus.
func CacheRoot() (string, error) {
	return cacheRoot(os.Getenv, os.UserHomeDir)
}

func cacheRoot(getenv func(string) string, home func() (string, error)) (string, error) {
	if dir := getenv(CacheDirEnv); dir != "" {
		return filepath.Abs(dir)
	}
	if dir := getenv("XDG_CACHE_HOME"); dir != "" {
		return filepath.Abs(filepath.Join(dir, "primus"))
	}
	h, err := home()
	if err != nil {
		return "", fmt.Errorf("find cache dir: set $%s or $XDG_CACHE_HOME: %w", CacheDirEnv, err)
	}
	return filepath.Join(h, ".cache", "primus"), nil
}

// cacheKey names the cache directory of one set of pinned versions built by
// one Go toolchain.
func cacheKey(goVersion string) string {
	return fmt.Sprintf("k8s-%s_etcd-%s_kwok-%s_helm-%s_%s",
		KubernetesVersion, EtcdVersion, KwokVersion, HelmVersion, goVersion)
}

// goVersion reports the version of the go command that would build the
// binaries, falling back to the toolchain that built this program.
func goVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output()
	if v := strings.TrimSpace(string(out)); err == nil && v != "" {
		return v
	}
	return runtime.Version()
}

// EnsureBinaries returns the pinned kube-apiserver, kube-controller-manager,
// kube-scheduler, etcd, kwok, kwokctl, helm and kubectl, building them into the cache
// first if any is missing. The first build compiles Kubernetes and takes
// several minutes; it reports progress to opts.Log. Concurrent callers, in
// this or other processes, wait for a single build.
func EnsureBinaries(ctx context.Context, opts BinaryOptions) (Binaries, error) {
	log := newLogger(opts.Log)
	root := opts.CacheDir
	if root == "" {
		var err error
		if root, err = CacheRoot(); err != nil {
			return Binaries{}, err
		}
	}
	binRoot := filepath.Join(root, "bin")
	key := cacheKey(goVersion(ctx))
	bins := binariesIn(filepath.Join(binRoot, key))
	if len(bins.missing()) == 0 {
		return bins, nil
	}

	if err := os.MkdirAll(binRoot, 0o755); err != nil {
		return Binaries{}, fmt.Errorf("create cache dir: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(binRoot, key+".lock"), log)
	if err != nil {
		return Binaries{}, err
	}
	defer unlock()
	// Another process may have finished the build while we waited.
	missing := bins.missing()
	if len(missing) == 0 {
		return bins, nil
	}

	repo := opts.RepoRoot
	if repo == "" {
		if repo, err = FindRepoRoot(); err != nil {
			return Binaries{}, fmt.Errorf("build %s: %w", strings.Join(missing, ", "), err)
		}
	}
	heartbeat := opts.Heartbeat
	if heartbeat <= 0 {
		heartbeat = 30 * time.Second
	}
	if err := build(ctx, log, heartbeat, repo, binRoot, bins.Dir); err != nil {
		return Binaries{}, err
	}
	if missing := bins.missing(); len(missing) != 0 {
		return Binaries{}, fmt.Errorf("build finished but %s missing in %s", strings.Join(missing, ", "), bins.Dir)
	}
	return bins, nil
}

// build compiles every binary into a fresh directory next to dest and
// renames it into place, so that dest is either absent or complete.
func build(ctx context.Context, log *slog.Logger, heartbeat time.Duration, repo, binRoot, dest string) error {
	tmp, err := os.MkdirTemp(binRoot, filepath.Base(dest)+".tmp-")
	if err != nil {
		return fmt.Errorf("create build dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	// MkdirTemp makes the directory private; the cache is as readable as
	// any other build output.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("create build dir: %w", err)
	}

	start := time.Now()
	for i, step := range buildSteps(repo, tmp) {
		if err := step.run(ctx, log, heartbeat, i+1); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(dest); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove incomplete %s: %w", dest, err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		return fmt.Errorf("move binaries into cache: %w", err)
	}
	log.Info("binaries ready", "dir", dest, "elapsed", since(start))
	return nil
}

// since returns the time elapsed since t, rounded to the second for humans.
func since(t time.Time) time.Duration {
	return time.Since(t).Round(time.Second)
}

// newLogger returns a text logger writing to w, or a discarding one.
func newLogger(w io.Writer) *slog.Logger {
	if w == nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			// Progress lines are read by people; drop the timestamp, keep
			// the elapsed time each line carries.
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}
