package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"
)

// componentPIDs reads the pid files kwokctl's binary runtime writes for
// each component it forks (<cluster dir>/pids/<component>.pid). Each
// component runs in its own session (setsid), so its pid is also its
// process group id.
func componentPIDs(clusterDir string) map[string]int {
	pids := map[string]int{}
	files, _ := filepath.Glob(filepath.Join(clusterDir, "pids", "*.pid"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(raw))); err == nil && pid > 1 {
			pids[strings.TrimSuffix(filepath.Base(f), ".pid")] = pid
		}
	}
	return pids
}

// processAlive reports whether pid is a live (not zombie) process that
// belongs to the cluster in clusterDir. Where /proc exists a process whose
// command line does not mention clusterDir (kwokctl starts every component
// from a link in <cluster dir>/bin) is not ours, so a recycled pid is never
// mistaken for a component.
func processAlive(pid int, clusterDir string) bool {
	if err := unix.Kill(pid, 0); err != nil && !errors.Is(err, unix.EPERM) {
		return false
	}
	if !procMounted() {
		return true // macOS: trust kill(2)
	}
	if !anyThreadRunning(pid) {
		return false
	}
	proc, err := procfs.NewProc(pid)
	if err != nil {
		return false
	}
	cmdline, err := proc.CmdLine()
	if err != nil {
		return false
	}
	// An exiting process has released its memory, so its command line
	// reads empty, while it may still hold its listening sockets: it counts
	// as alive until it is a zombie or gone.
	return len(cmdline) == 0 || strings.Contains(strings.Join(cmdline, " "), clusterDir)
}

// anyThreadRunning reports whether some thread of process pid has not
// exited yet. The main thread of a multi-threaded program killed by SIGKILL
// can be a zombie while other threads still tear down and hold the shared
// file table, listening sockets included; the process is gone only when
// every thread is.
func anyThreadRunning(pid int) bool {
	threads, err := procfs.AllThreads(pid)
	if err != nil {
		return false
	}
	for _, thread := range threads {
		stat, err := thread.Stat()
		if err != nil {
			continue
		}
		if stat.State != "Z" && stat.State != "X" {
			return true
		}
	}
	return false
}

// procMounted reports whether /proc is mounted.
func procMounted() bool {
	_, err := os.Stat("/proc/self/stat")
	return err == nil
}

// killLeftovers waits up to grace for the components to exit (a process
// that got SIGKILL from kwokctl takes a moment to disappear), then sends
// SIGKILL to the process group of every component still alive and waits, at
// most 10 seconds, until they are gone. It returns the names of the
// components it had to kill.
func killLeftovers(clusterDir string, pids map[string]int, grace time.Duration) ([]string, error) {
	alive := func() []string {
		var out []string
		for name, pid := range pids {
			if processAlive(pid, clusterDir) {
				out = append(out, name)
			}
		}
		sort.Strings(out)
		return out
	}
	for deadline := time.Now().Add(grace); len(alive()) > 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	killed := alive()
	for _, name := range killed {
		pid := pids[name]
		if err := unix.Kill(-pid, unix.SIGKILL); err != nil {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		left := alive()
		if len(left) == 0 {
			return killed, nil
		}
		if time.Now().After(deadline) {
			return killed, fmt.Errorf("still alive after SIGKILL: %s", strings.Join(left, ", "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
