package replicas

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Usage is a process's resource use, from /proc (Linux only).
type Usage struct {
	// RSS is the resident set size (VmRSS of /proc/PID/status), in bytes.
	RSS int64
	// CPU is the user plus system CPU time so far (utime + stime of
	// /proc/PID/stat).
	CPU time.Duration
}

// clockTicks is USER_HZ, the unit of utime and stime: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// Usage reads the replica's current resource use.
func (r *Replica) Usage() (Usage, error) { return ProcessUsage(r.Pid()) }

// ProcessUsage reads the resource use of process pid from /proc.
func ProcessUsage(pid int) (Usage, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Usage{}, fmt.Errorf("usage of %d: %w", pid, err)
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Usage{}, fmt.Errorf("usage of %d: %w", pid, err)
	}
	rss, err := parseVmRSS(status)
	if err != nil {
		return Usage{}, fmt.Errorf("usage of %d: %w", pid, err)
	}
	cpu, err := parseCPU(stat)
	if err != nil {
		return Usage{}, fmt.Errorf("usage of %d: %w", pid, err)
	}
	return Usage{RSS: rss, CPU: cpu}, nil
}

// parseVmRSS reads "VmRSS:   12345 kB" from /proc/PID/status.
func parseVmRSS(status []byte) (int64, error) {
	for _, line := range strings.Split(string(status), "\n") {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("bad VmRSS line %q", line)
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bad VmRSS line %q: %w", line, err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("no VmRSS line (a zombie?)")
}

// parseCPU reads utime and stime (fields 14 and 15) of /proc/PID/stat.
// The command name, field 2, is parenthesised and may hold spaces: the
// fields are counted from the last ')'.
func parseCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("bad stat %q", stat)
	}
	fields := strings.Fields(string(stat[i+1:]))
	// fields[0] is field 3 (state): utime is field 14, stime field 15.
	if len(fields) < 13 {
		return 0, fmt.Errorf("bad stat %q", stat)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bad stat %q: %w", stat, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}
