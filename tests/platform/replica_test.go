//go:build unix

package platform

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"primus.dev/primus/internal/leader"
)

// replica is one primus process.
type replica struct {
	name       string
	api        string // https://127.0.0.1:port
	health     string // http://127.0.0.1:port
	metrics    string // http://127.0.0.1:port
	logPath    string
	cmd        *exec.Cmd
	exited     chan struct{}
	exitErr    error
	httpClient *http.Client

	// mu is held for reading by in-flight probes; stopping takes it for
	// writing so that no probe is under way when the process goes.
	mu      sync.RWMutex
	stopped bool
}

// replicaConfig is what every replica of a suite shares.
type replicaConfig struct {
	kubeconfig string
	namespace  string
	leaseName  string
}

// freePort returns a free TCP port on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startReplica starts primus as Pod name. The process group is killed at
// cleanup whatever happens, and its log is printed if the test failed.
func startReplica(t *testing.T, cfg replicaConfig, name string) *replica {
	t.Helper()
	apiPort, healthPort, metricsPort := freePort(t), freePort(t), freePort(t)
	r := &replica{
		name:    name,
		api:     fmt.Sprintf("https://127.0.0.1:%d", apiPort),
		health:  fmt.Sprintf("http://127.0.0.1:%d", healthPort),
		metrics: fmt.Sprintf("http://127.0.0.1:%d", metricsPort),
		logPath: filepath.Join(t.TempDir(), name+".log"),
		exited:  make(chan struct{}),
		httpClient: &http.Client{
			Timeout: 5 * time.Second,
			// The replicas serve a self-signed certificate.
			Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // test client
		},
	}
	logFile, err := os.Create(r.logPath)
	require.NoError(t, err)

	r.cmd = exec.Command(primusBin,
		"--kubeconfig="+cfg.kubeconfig,
		"--leader-elect=true",
		"--leader-election-id="+cfg.leaseName,
		"--leader-election-namespace="+cfg.namespace,
		"--lease-duration=4s", "--renew-deadline=3s", "--retry-period=1s",
		"--pod-deletion-cost=true",
		fmt.Sprintf("--api-bind-address=127.0.0.1:%d", apiPort),
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", healthPort),
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", metricsPort),
		"--log-level=debug",
	)
	r.cmd.Env = append(withoutEnv(os.Environ(), "KUBECONFIG"),
		"POD_NAME="+name, "POD_NAMESPACE="+cfg.namespace,
		"HELM_RELEASE_NAME="+release, "HELM_RELEASE_NAMESPACE="+cfg.namespace)
	r.cmd.Stdout, r.cmd.Stderr = logFile, logFile
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, r.cmd.Start())
	go func() {
		r.exitErr = r.cmd.Wait()
		logFile.Close()
		close(r.exited)
	}()
	t.Cleanup(func() {
		r.signal(syscall.SIGKILL)
		<-r.exited
		if t.Failed() {
			t.Logf("--- log of %s (last 60 lines) ---\n%s", name, tail(r.logPath, 60))
		}
	})
	return r
}

// withoutEnv drops key from env.
func withoutEnv(env []string, key string) []string {
	out := env[:0:0]
	for _, e := range env {
		if !strings.HasPrefix(e, key+"=") {
			out = append(out, e)
		}
	}
	return out
}

// signal sends sig to the replica's process group.
func (r *replica) signal(sig syscall.Signal) {
	_ = syscall.Kill(-r.cmd.Process.Pid, sig)
}

// stop excludes the replica from probing, then sends sig.
func (r *replica) stop(sig syscall.Signal) {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
	r.signal(sig)
}

// waitExit waits for the process to exit and returns its exit code.
func (r *replica) waitExit(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-r.exited:
	case <-time.After(timeout):
		t.Fatalf("%s did not exit within %s", r.name, timeout)
	}
	var exitErr *exec.ExitError
	if errors.As(r.exitErr, &exitErr) {
		return exitErr.ExitCode()
	}
	require.NoError(t, r.exitErr)
	return 0
}

// ready reports whether /readyz answers 200.
func (r *replica) ready() bool {
	resp, err := r.httpClient.Get(r.health + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// call sends an API request with token (none if empty) and returns the
// status code and body.
func (r *replica) call(method, path, token string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, r.api+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := r.httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// leader asks the replica who leads.
func (r *replica) leader(token string) (leader.Status, error) {
	code, raw, err := r.call("GET", "/api/v1/leader", token, nil)
	if err != nil {
		return leader.Status{}, err
	}
	if code != http.StatusOK {
		return leader.Status{}, fmt.Errorf("%s: GET /api/v1/leader: %d %s", r.name, code, raw)
	}
	var st leader.Status
	return st, json.Unmarshal(raw, &st)
}

// leaderGauge scrapes primus_leader from the replica's /metrics.
func (r *replica) leaderGauge() (float64, error) {
	resp, err := r.httpClient.Get(r.metrics + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, err
	}
	f, ok := families["primus_leader"]
	if !ok || len(f.GetMetric()) == 0 {
		return 0, fmt.Errorf("%s: no primus_leader metric", r.name)
	}
	return f.GetMetric()[0].GetGauge().GetValue(), nil
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// prober calls GET /api/v1/projects on every replica that has not been
// stopped, over and over, and remembers every failure: the API must stay
// up on the replicas that keep running, whoever leads.
type prober struct {
	replicas []*replica
	token    string
	stop     chan struct{}
	done     chan struct{}

	mu       sync.Mutex
	calls    int
	failures []string
}

func startProber(t *testing.T, replicas []*replica, token string) *prober {
	t.Helper()
	p := &prober{replicas: replicas, token: token, stop: make(chan struct{}), done: make(chan struct{})}
	go p.run()
	t.Cleanup(p.halt)
	return p
}

func (p *prober) run() {
	defer close(p.done)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
		for _, r := range p.replicas {
			p.probe(r)
		}
	}
}

func (p *prober) probe(r *replica) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.stopped {
		return
	}
	code, body, err := r.call("GET", "/api/v1/projects", p.token, nil)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	switch {
	case err != nil:
		p.failures = append(p.failures, fmt.Sprintf("%s %s: %v", time.Now().Format("15:04:05.000"), r.name, err))
	case code != http.StatusOK:
		p.failures = append(p.failures, fmt.Sprintf("%s %s: %d %s", time.Now().Format("15:04:05.000"), r.name, code, body))
	}
}

// halt stops probing; it is safe to call twice.
func (p *prober) halt() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

// results returns the number of calls and the failures.
func (p *prober) results() (int, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls, append([]string(nil), p.failures...)
}

// logLinesWith returns the JSON log lines of the file at path whose msg is
// msg.
func logLinesWith(t *testing.T, path, msg string) []map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []map[string]any
	for _, line := range bytes.Split(raw, []byte("\n")) {
		var m map[string]any
		if json.Unmarshal(line, &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// grepLog returns the lines of the file at path that contain substr,
// case-insensitively.
func grepLog(t *testing.T, path, substr string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []string
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.Contains(strings.ToLower(line), strings.ToLower(substr)) {
			out = append(out, line)
		}
	}
	return out
}
