package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/procfs"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProcessAlive checks the /proc reading (prometheus/procfs) on real
// processes: a live process whose command line names the cluster dir, one
// that does not, and one that has exited.
func TestProcessAlive(t *testing.T) {
	if !procMounted() {
		t.Skip("no /proc")
	}
	dir := t.TempDir()
	marker := filepath.Join(dir, "bin", "component")
	ours := exec.Command("sh", "-c", "sleep 30; : "+marker)
	require.NoError(t, ours.Start())
	t.Cleanup(func() { _ = ours.Process.Kill(); _ = ours.Wait() })
	other := exec.Command("sleep", "30")
	require.NoError(t, other.Start())
	t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })
	exited := exec.Command("true")
	require.NoError(t, exited.Run())
	// cmd.Start returns once execve has closed the close-on-exec pipe,
	// which is before the kernel has set up the new program's arguments:
	// until then /proc/PID/cmdline reads empty, the same as an exiting
	// process's, which processAlive counts as alive.
	for _, cmd := range []*exec.Cmd{ours, other} {
		waitForCmdline(t, cmd.Process.Pid)
	}

	cases := []struct {
		name string
		pid  int
		want bool
	}{
		{name: "ours", pid: ours.Process.Pid, want: true},
		{name: "another program", pid: other.Process.Pid, want: false},
		{name: "exited", pid: exited.Process.Pid, want: false},
		{name: "the test binary, running but not ours", pid: os.Getpid(), want: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, processAlive(tc.pid, dir))
		})
	}
	assert.True(t, anyThreadRunning(os.Getpid()))
}

// waitForCmdline waits until process pid's command line reads non-empty.
func waitForCmdline(t *testing.T, pid int) {
	t.Helper()
	require.Eventually(t, func() bool {
		proc, err := procfs.NewProc(pid)
		if err != nil {
			return false
		}
		cmdline, err := proc.CmdLine()
		return err == nil && len(cmdline) > 0
	}, 5*time.Second, time.Millisecond, "process %d never showed its command line", pid)
}
