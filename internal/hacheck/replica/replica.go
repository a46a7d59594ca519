package replica

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Replica is one primus process, started in its own process group with
// its log in a file. Close kills it.
type Replica struct {
	// Name is its POD_NAME, and so its leader-election identity.
	Name string
	// API, Health and Metrics are the base URLs of its listeners:
	// https://127.0.0.1:port, http://127.0.0.1:port, http://127.0.0.1:port.
	// API is the Kubernetes API server for management.primus.dev (see
	// ProjectsPath); it is empty when the Config's Args turn it off
	// (--api-bind-address=0).
	API, Health, Metrics string
	// LogPath is the file its stdout and stderr go to.
	LogPath string

	cmd     *exec.Cmd
	started time.Time
	http    *http.Client

	exited   chan struct{}
	exitErr  error     // set before exited is closed
	exitedAt time.Time // set before exited is closed

	// mu is held for reading by in-flight probes; taking it for writing
	// (Kill, Terminate, Pause) waits for them, so that no probe is under
	// way when the process goes down.
	mu     sync.RWMutex
	down   bool // signalled down by Kill, Terminate or Pause
	downAt time.Time

	// served is set once /readyz answered 200: a replica counts as live
	// from then on, as a Pod joins the Service's endpoints once Ready.
	served atomic.Bool
}

// Start starts primus as Pod name with cfg. The caller owns the Replica
// and must Close it; ctx bounds the start only, not the process.
func Start(ctx context.Context, cfg Config, name string) (*Replica, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := &Replica{
		Name:    name,
		LogPath: filepath.Join(cfg.Dir, name+".log"),
		exited:  make(chan struct{}),
		http: &http.Client{
			Timeout: 5 * time.Second,
			// The replicas serve a self-signed certificate.
			Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // local test client
		},
	}
	logFile, err := os.Create(r.LogPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	// Each process binds port 0 and reports the ports the kernel gave it:
	// no port is picked here and handed over later, so two processes can
	// never be given the same one.
	addrFile := filepath.Join(cfg.Dir, name+".addresses.json")
	_ = os.Remove(addrFile)
	apiFlag, apiOff := cfg.apiFlag()
	args := append(withoutFlags(cfg.Args, addressFlags),
		"--kubeconfig="+cfg.Kubeconfig,
		apiFlag,
		cfg.bindFlag("--health-probe-bind-address"),
		cfg.bindFlag("--metrics-bind-address"),
		"--addresses-file="+addrFile,
	)
	r.cmd = exec.Command(cfg.Binary, args...)
	r.cmd.Env = append(withoutEnv(os.Environ(), "KUBECONFIG", "POD_NAME", "POD_NAMESPACE"),
		append(cfg.Env, "POD_NAME="+name, "POD_NAMESPACE="+cfg.Namespace)...)
	r.cmd.Stdout, r.cmd.Stderr = logFile, logFile
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	startProcess := cfg.StartProcess
	if startProcess == nil {
		startProcess = (*exec.Cmd).Start
	}
	if err := startProcess(r.cmd); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	r.started = time.Now()
	go func() {
		r.exitErr = r.cmd.Wait()
		r.exitedAt = time.Now()
		logFile.Close()
		close(r.exited)
	}()
	a, err := r.waitAddresses(ctx, addrFile, apiOff)
	if err != nil {
		_ = r.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	r.Health, r.Metrics = "http://"+a.Health, "http://"+a.Metrics
	if a.API != "" {
		r.API = "https://" + a.API
	}
	return r, nil
}

// addresses is what primus writes to --addresses-file (platform.Addresses).
type addresses struct {
	API     string `json:"api"`
	Health  string `json:"health"`
	Metrics string `json:"metrics"`
}

// addressPoll is how often Start looks for the addresses file; primus
// writes it right after binding, before any API call.
const addressPoll = 5 * time.Millisecond

// waitAddresses waits until the process has written path, exited, or ctx
// ended. apiOff: the process serves no API, so the file has no api
// address.
func (r *Replica) waitAddresses(ctx context.Context, path string, apiOff bool) (addresses, error) {
	tick := time.NewTicker(addressPoll)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(path); err == nil {
			var a addresses
			if err := json.Unmarshal(b, &a); err != nil {
				return a, fmt.Errorf("start %s: addresses file %s: %w", r.Name, path, err)
			}
			if (a.API == "") != apiOff || a.Health == "" || a.Metrics == "" {
				return a, fmt.Errorf("start %s: addresses file %s lacks an address: %s", r.Name, path, b)
			}
			return a, nil
		}
		select {
		case <-r.exited:
			return addresses{}, fmt.Errorf("start %s: exited before it listened (exit code %d; log %s)", r.Name, r.ExitCode(), r.LogPath)
		case <-ctx.Done():
			return addresses{}, fmt.Errorf("start %s: not listening yet: %w (log %s)", r.Name, ctx.Err(), r.LogPath)
		case <-tick.C:
		}
	}
}

// Pid returns the process id (also its process group id).
func (r *Replica) Pid() int { return r.cmd.Process.Pid }

// Started returns when the process was started.
func (r *Replica) Started() time.Time { return r.started }

// Signal sends sig to the replica's process group. It does not change
// whether the replica counts as live (see Kill, Terminate, Pause).
func (r *Replica) Signal(sig syscall.Signal) error {
	if err := syscall.Kill(-r.cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %s: %w", r.Name, err)
	}
	return nil
}

// goDown marks the replica down, waiting for in-flight probes, sends sig
// and returns the time it was sent.
func (r *Replica) goDown(sig syscall.Signal) (time.Time, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.Signal(sig)
	now := time.Now()
	if !r.down {
		r.down, r.downAt = true, now
	}
	return now, err
}

// Kill sends SIGKILL (kill -9) and returns when it was sent. The replica
// no longer counts as live.
func (r *Replica) Kill() (time.Time, error) { return r.goDown(syscall.SIGKILL) }

// Terminate sends SIGTERM (a graceful stop, as the kubelet does) and
// returns when it was sent. The replica no longer counts as live.
func (r *Replica) Terminate() (time.Time, error) { return r.goDown(syscall.SIGTERM) }

// Pause sends SIGSTOP (the process freezes: a long GC pause, a stalled
// node) and returns when it was sent. The replica no longer counts as
// live, also after Resume.
func (r *Replica) Pause() (time.Time, error) { return r.goDown(syscall.SIGSTOP) }

// Resume sends SIGCONT to a paused replica and returns when it was sent.
func (r *Replica) Resume() (time.Time, error) {
	err := r.Signal(syscall.SIGCONT)
	return time.Now(), err
}

// Live reports whether the replica has been Ready (see Ready), runs, and
// has not been signalled down.
func (r *Replica) Live() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.served.Load() && !r.down && !r.Exited()
}

// Exited reports whether the process has exited.
func (r *Replica) Exited() bool {
	select {
	case <-r.exited:
		return true
	default:
		return false
	}
}

// ExitedAt returns when the process exited (as seen by its parent), or
// the zero time while it runs.
func (r *Replica) ExitedAt() time.Time {
	if !r.Exited() {
		return time.Time{}
	}
	return r.exitedAt
}

// DownAt returns when the replica was signalled down by Kill, Terminate or
// Pause, or the zero time.
func (r *Replica) DownAt() time.Time {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.downAt
}

// Done is closed when the process has exited.
func (r *Replica) Done() <-chan struct{} { return r.exited }

// Wait waits until the process exits or ctx ends, and returns its exit
// code (-1 when a signal killed it).
func (r *Replica) Wait(ctx context.Context) (int, error) {
	select {
	case <-r.exited:
	case <-ctx.Done():
		return 0, fmt.Errorf("%s did not exit: %w", r.Name, ctx.Err())
	}
	return r.ExitCode(), nil
}

// ExitCode returns the exit code of an exited process (-1 when a signal
// killed it), or 0 while it runs.
func (r *Replica) ExitCode() int {
	if !r.Exited() {
		return 0
	}
	var exitErr *exec.ExitError
	if errors.As(r.exitErr, &exitErr) {
		return exitErr.ExitCode()
	}
	return 0
}

// Close kills the process group (a paused one too) and waits for the
// process to exit. It is safe to call twice.
func (r *Replica) Close(ctx context.Context) error {
	_ = r.Signal(syscall.SIGKILL)
	_ = r.Signal(syscall.SIGCONT)
	select {
	case <-r.exited:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close %s: %w", r.Name, ctx.Err())
	}
}
