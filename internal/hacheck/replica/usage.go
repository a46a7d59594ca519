package replica

import (
	"fmt"
	"time"

	"github.com/prometheus/procfs"
)

// Usage is a process's resource use, from /proc (Linux only).
type Usage struct {
	// RSS is the resident set size (VmRSS of /proc/PID/status), in bytes.
	RSS int64
	// CPU is the user plus system CPU time so far (utime + stime of
	// /proc/PID/stat).
	CPU time.Duration
}

// Usage reads the replica's current resource use.
func (r *Replica) Usage() (Usage, error) { return ProcessUsage(r.Pid()) }

// ProcessUsage reads the resource use of process pid from /proc, with
// prometheus/procfs (the reader the Prometheus process collector uses).
func ProcessUsage(pid int) (Usage, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return Usage{}, fmt.Errorf("usage of %d: %w", pid, err)
	}
	status, err := p.NewStatus()
	if err != nil {
		return Usage{}, fmt.Errorf("usage of %d: %w", pid, err)
	}
	stat, err := p.Stat()
	if err != nil {
		return Usage{}, fmt.Errorf("usage of %d: %w", pid, err)
	}
	return Usage{RSS: int64(status.VmRSS), CPU: time.Duration(stat.CPUTime() * float64(time.Second))}, nil
}
