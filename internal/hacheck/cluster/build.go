package cluster

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// buildStep is one go command of the binary build.
type buildStep struct {
	// what names the binaries the step produces, for progress lines.
	what string
	// note is appended to the first progress line, e.g. how long it takes.
	note string
	dir  string
	env  []string
	args []string
}

// kubeLDFlags stamps the Kubernetes binaries with their release version, as
// the upstream release build does (hack/lib/version.sh); without it the API
// server reports v0.0.0-master.
func kubeLDFlags() string {
	major, minor := "1", strings.Split(strings.TrimPrefix(KubernetesVersion, "v1."), ".")[0]
	return strings.Join([]string{
		"-s", "-w",
		"-X k8s.io/component-base/version.gitVersion=" + KubernetesVersion,
		"-X k8s.io/component-base/version.gitMajor=" + major,
		"-X k8s.io/component-base/version.gitMinor=" + minor,
		"-X k8s.io/component-base/version.gitTreeState=clean",
		"-X k8s.io/client-go/pkg/version.gitVersion=" + KubernetesVersion,
		"-X k8s.io/client-go/pkg/version.gitMajor=" + major,
		"-X k8s.io/client-go/pkg/version.gitMinor=" + minor,
	}, " ")
}

// helmLDFlags stamps helm as helm's Makefile does: its version (otherwise
// "v3.22") and the Kubernetes version `helm template` and `helm lint` assume
// without a cluster (otherwise v1.20). Helm v3.22 is built against client-go
// v0.37, hence 1.37 like the Makefile's K8S_MODULES_VER arithmetic.
func helmLDFlags() string {
	major, minor := "1", strings.Split(strings.TrimPrefix(KubernetesVersion, "v1."), ".")[0]
	return strings.Join([]string{
		"-s", "-w",
		"-X helm.sh/helm/v3/internal/version.version=" + HelmVersion,
		"-X helm.sh/helm/v3/internal/version.gitTreeState=clean",
		"-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=" + major,
		"-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=" + minor,
		"-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=" + major,
		"-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=" + minor,
	}, " ")
}

// buildSteps returns the commands that build every binary into out. The
// control plane is built inside tools/clusterbin, whose go.mod pins
// k8s.io/kubernetes and etcd; kwok and helm are plain `go install pkg@version`
// (one module per command, as go install requires).
func buildSteps(repo, out string) []buildStep {
	gobin := "GOBIN=" + out
	return []buildStep{
		{
			what: "kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd",
			note: "first run only, about 9 min on 2 cores",
			dir:  filepath.Join(repo, "tools", "clusterbin"),
			args: []string{"build", "-trimpath", "-ldflags", kubeLDFlags(), "-o", out + string(filepath.Separator),
				"k8s.io/kubernetes/cmd/kube-apiserver",
				"k8s.io/kubernetes/cmd/kube-controller-manager",
				"k8s.io/kubernetes/cmd/kube-scheduler",
				"k8s.io/kubernetes/cmd/kubectl",
				"./etcd",
			},
		},
		{
			what: "kwok, kwokctl",
			dir:  repo,
			env:  []string{gobin},
			args: []string{"install", "-trimpath", "-ldflags", "-s -w",
				"sigs.k8s.io/kwok/cmd/kwok@" + KwokVersion,
				"sigs.k8s.io/kwok/cmd/kwokctl@" + KwokVersion,
			},
		},
		{
			what: "helm",
			dir:  repo,
			env:  []string{gobin},
			args: []string{"install", "-trimpath", "-ldflags", helmLDFlags(),
				"helm.sh/helm/v3/cmd/helm@" + HelmVersion,
			},
		},
	}
}

// run executes the step, logging its start, a heartbeat and its end. On
// failure the error carries the last lines of the go command's output.
func (s buildStep) run(ctx context.Context, log *slog.Logger, heartbeat time.Duration, n int) error {
	msg := "building " + s.what
	if s.note != "" {
		msg += " (" + s.note + ")"
	}
	log.Info(msg, "step", n)
	start := time.Now()

	out := &tailBuffer{max: 64 << 10}
	cmd := exec.CommandContext(ctx, "go", s.args...)
	cmd.Dir = s.dir
	// GOWORK=off: a go.work above the repository must not change what the
	// pinned modules resolve to.
	cmd.Env = withEnv(os.Environ(), append([]string{"GOWORK=off"}, s.env...)...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 10 * time.Second

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(heartbeat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				log.Info("still building", "what", s.what, "elapsed", since(start))
			}
		}
	})
	err := cmd.Run()
	close(done)
	wg.Wait()
	if err != nil {
		return fmt.Errorf("build %s: go %s (in %s): %w\n%s",
			s.what, strings.Join(s.args, " "), s.dir, err, out.lastLines(40))
	}
	log.Info("built "+s.what, "step", n, "elapsed", since(start))
	return nil
}

// tailBuffer is an io.Writer that keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// lastLines returns at most the last n lines written.
func (t *tailBuffer) lastLines(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(string(bytes.TrimRight(t.buf, "\n")), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
