package cluster

import (
	"errors"
	"fmt"
	"maps"

	"golang.org/x/sys/unix"
)

// apiServerComponent is the name kwokctl gives the kube-apiserver process
// (its pid file is pids/kube-apiserver.pid).
const apiServerComponent = "kube-apiserver"

// PauseAPIServer freezes the kube-apiserver with SIGSTOP to its process
// group: it keeps its sockets, so clients neither connect nor get an
// answer until ResumeAPIServer, which is what a partitioned or overloaded
// control plane looks like to a client. Etcd and the other components keep
// running. It works on clusters started by Start only. Stop resumes a
// paused API server before it stops the cluster.
func (c *Cluster) PauseAPIServer() error {
	if err := c.signalComponent(apiServerComponent, unix.SIGSTOP); err != nil {
		return fmt.Errorf("pause api server: %w", err)
	}
	c.mu.Lock()
	c.apiServerPaused = true
	c.mu.Unlock()
	c.log.Info("api server paused")
	return nil
}

// ResumeAPIServer lets a kube-apiserver frozen by PauseAPIServer run again
// (SIGCONT). Resuming one that runs is a no-op.
func (c *Cluster) ResumeAPIServer() error {
	if err := c.signalComponent(apiServerComponent, unix.SIGCONT); err != nil {
		return fmt.Errorf("resume api server: %w", err)
	}
	c.mu.Lock()
	c.apiServerPaused = false
	c.mu.Unlock()
	c.log.Info("api server resumed")
	return nil
}

// resumeBeforeStop sends SIGCONT to a paused API server, so that the
// orderly delete in Stop does not wait on a frozen process.
func (c *Cluster) resumeBeforeStop() {
	c.mu.Lock()
	paused := c.apiServerPaused
	c.mu.Unlock()
	if paused {
		_ = c.signalComponent(apiServerComponent, unix.SIGCONT)
	}
}

// signalComponent sends sig to the process group of a component (each runs
// in its own session, so its pid is its group id), after checking that the
// pid is still the component's.
func (c *Cluster) signalComponent(name string, sig unix.Signal) error {
	if c.workdir == "" {
		return fmt.Errorf("cluster %s was not started by this package", c.name)
	}
	c.recordPIDs()
	c.mu.Lock()
	pid, ok := c.pids[name]
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("no pid recorded for %s", name)
	}
	if !processAlive(pid, c.kwokctl.clusterDir()) {
		return fmt.Errorf("%s (pid %d) is not running", name, pid)
	}
	if err := unix.Kill(-pid, sig); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return unix.Kill(pid, sig)
		}
		return fmt.Errorf("signal %s (pid %d): %w", name, pid, err)
	}
	return nil
}

// ComponentPIDs returns the pids of the control-plane processes of a
// cluster started by Start, by component name (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, kwok-controller), for a caller
// that measures what they cost. It is empty for an opened cluster.
func (c *Cluster) ComponentPIDs() map[string]int {
	if c.workdir == "" {
		return map[string]int{}
	}
	c.recordPIDs()
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.pids)
}
