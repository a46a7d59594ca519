package portlock

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// childEnv makes the test binary a child that reserves ports (see
// runChild): a second process, for the cross-process tests.
const childEnv = "PORTLOCK_TEST_CHILD"

// TestMain runs the test binary as a reserving child when childEnv is set.
func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runChild(spec))
	}
	os.Exit(m.Run())
}

// childSpec is what a child reserves: n ports from candidates, locked in dir.
type childSpec struct {
	Dir        string `json:"dir"`
	Candidates []int  `json:"candidates"`
	N          int    `json:"n"`
}

// runChild reserves the ports of spec, prints them as one JSON line, holds
// them until its stdin closes, then releases them.
func runChild(spec string) int {
	var cs childSpec
	if err := json.Unmarshal([]byte(spec), &cs); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	s, err := reserver{dir: cs.Dir, candidates: cs.Candidates}.reserve(cs.N)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(s.Ports()); err != nil {
		return 1
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := s.Release(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// child is a running reserving child process.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	ports []int
}

// startChild starts a child that reserves spec and waits for its ports.
// The child releases them when the test closes its stdin (or kills it).
func startChild(t *testing.T, spec childSpec) *child {
	t.Helper()
	raw, err := json.Marshal(spec)
	require.NoError(t, err)
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(raw))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	c := &child{cmd: cmd, stdin: stdin}
	t.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	require.NoError(t, err, "child reports its ports")
	require.NoError(t, json.Unmarshal(line, &c.ports))
	return c
}

// testCandidates returns n bindable ports outside the ephemeral range for
// reservers with a private lock dir. They come from the far end of the
// candidate list, where Reserve, starting in the gap above the range,
// hardly ever goes: a cluster started meanwhile by another package will not
// take them.
func testCandidates(t *testing.T, n int) []int {
	t.Helper()
	lo, hi, err := EphemeralRange()
	require.NoError(t, err)
	all := candidates(lo, hi, func(int) int { return 0 })
	var out []int
	for i := len(all) - 1; i >= 0 && len(out) < n; i-- {
		if bindable(all[i]) {
			out = append(out, all[i])
		}
	}
	require.Len(t, out, n)
	return out
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		name           string
		in             string
		wantLo, wantHi int
		wantErr        bool
	}{
		{name: "linux default", in: "32768\t60999\n", wantLo: 32768, wantHi: 60999},
		{name: "whole range", in: "1024 65535", wantLo: 1024, wantHi: 65535},
		{name: "one field", in: "32768", wantErr: true},
		{name: "reversed", in: "60999 32768", wantErr: true},
		{name: "past 65535", in: "32768 70000", wantErr: true},
		{name: "not numbers", in: "a b", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lo, hi, err := parseRange(tc.in)
			if tc.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, []int{tc.wantLo, tc.wantHi}, []int{lo, hi})
		})
	}
}

func TestCandidatesAreOutsideTheEphemeralRange(t *testing.T) {
	tests := []struct {
		name      string
		lo, hi    int
		start     int
		wantFirst []int
		wantLen   int
	}{
		{name: "linux default: above first, from the random start", lo: 32768, hi: 60999, start: 10,
			wantFirst: []int{61010, 61011}, wantLen: (65535 - 60999) + (32767 - 1023)},
		{name: "range to 65535: below only, top down", lo: 32768, hi: 65535,
			wantFirst: []int{32767, 32766}, wantLen: 32767 - 1023},
		{name: "whole range: nothing", lo: 1024, hi: 65535, wantLen: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := candidates(tc.lo, tc.hi, func(int) int { return tc.start })
			require.Len(t, got, tc.wantLen)
			seen := map[int]bool{}
			for _, p := range got {
				assert.False(t, tc.lo <= p && p <= tc.hi, "port %d inside the ephemeral range", p)
				assert.GreaterOrEqual(t, p, minPort)
				assert.LessOrEqual(t, p, 65535)
				assert.False(t, seen[p], "port %d twice", p)
				seen[p] = true
			}
			if len(tc.wantFirst) > 0 {
				assert.Equal(t, tc.wantFirst, got[:len(tc.wantFirst)])
			}
		})
	}
}

func TestReserveHandsOutBindablePortsOutsideTheEphemeralRange(t *testing.T) {
	lo, hi, err := EphemeralRange()
	require.NoError(t, err)
	s, err := Reserve(6)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Release()) })
	ports := s.Ports()
	require.Len(t, ports, 6)
	seen := map[int]bool{}
	for _, p := range ports {
		assert.False(t, lo <= p && p <= hi, "port %d inside the ephemeral range %d-%d", p, lo, hi)
		assert.False(t, seen[p], "port %d twice", p)
		seen[p] = true
		assert.FileExists(t, lockPath(Dir(), p))
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		require.NoError(t, err, "a reserved port stays bindable")
		require.NoError(t, l.Close())
	}
	require.NoError(t, s.Release())
	for _, p := range ports {
		assert.NoFileExists(t, lockPath(Dir(), p), "Release removes the lock file")
	}
	assert.NoError(t, s.Release(), "second Release")
}

func TestReserveSkips(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = taken.Close() })
	busy := taken.Addr().(*net.TCPAddr).Port
	free := testCandidates(t, 3)

	tests := []struct {
		name string
		// hold runs first, in the same lock dir, and returns what the
		// reserver must not get.
		hold       func(t *testing.T, dir string) []int
		candidates []int
		n          int
		want       []int
		wantErr    string
	}{
		{name: "a port something listens on", candidates: []int{busy, free[0]}, n: 1, want: []int{free[0]}},
		{name: "a port another Set of this process holds", candidates: free[:2], n: 1, want: free[1:2],
			hold: func(t *testing.T, dir string) []int {
				s, err := reserver{dir: dir, candidates: free[:1]}.reserve(1)
				require.NoError(t, err)
				t.Cleanup(func() { _ = s.Release() })
				return s.Ports()
			}},
		{name: "a port another process holds", candidates: free[:2], n: 1, want: free[1:2],
			hold: func(t *testing.T, dir string) []int {
				return startChild(t, childSpec{Dir: dir, Candidates: free[:1], N: 1}).ports
			}},
		{name: "not enough free ports", candidates: []int{busy, free[0]}, n: 2,
			wantErr: "reserve 2 ports outside the ephemeral range: only 1 of 2 candidates were free"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.hold != nil {
				require.Len(t, tc.hold(t, dir), 1)
			}
			s, err := reserver{dir: dir, candidates: tc.candidates}.reserve(tc.n)
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
				entries, err := os.ReadDir(dir)
				require.NoError(t, err)
				assert.Empty(t, entries, "a failed reserve leaves no lock file")
				return
			}
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Release() })
			assert.Equal(t, tc.want, s.Ports())
		})
	}
}

// TestReleasedPortsCanBeReservedAgain covers both ways a port comes back:
// Release, and the death of the process that held it.
func TestReleasedPortsCanBeReservedAgain(t *testing.T) {
	ports := testCandidates(t, 2)
	tests := []struct {
		name string
		// hold reserves ports in dir and returns a function that gives
		// them back.
		hold func(t *testing.T, dir string) (giveBack func())
	}{
		{name: "released by this process", hold: func(t *testing.T, dir string) func() {
			s, err := reserver{dir: dir, candidates: ports}.reserve(len(ports))
			require.NoError(t, err)
			return func() { require.NoError(t, s.Release()) }
		}},
		{name: "released by a child at exit", hold: func(t *testing.T, dir string) func() {
			c := startChild(t, childSpec{Dir: dir, Candidates: ports, N: len(ports)})
			return func() { require.NoError(t, c.stdin.Close()); require.NoError(t, c.cmd.Wait()) }
		}},
		{name: "a child killed while holding them", hold: func(t *testing.T, dir string) func() {
			c := startChild(t, childSpec{Dir: dir, Candidates: ports, N: len(ports)})
			return func() { require.NoError(t, c.cmd.Process.Kill()); _ = c.cmd.Wait() }
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			giveBack := tc.hold(t, dir)
			_, err := reserver{dir: dir, candidates: ports}.reserve(1)
			require.Error(t, err, "held ports must not be handed out")
			giveBack()
			s, err := reserver{dir: dir, candidates: ports}.reserve(len(ports))
			require.NoError(t, err)
			assert.Equal(t, ports, s.Ports())
			require.NoError(t, s.Release())
		})
	}
}

// TestConcurrentReservationsNeverShareAPort has goroutines of this process
// and child processes reserve from one short candidate list at once, over
// and over; a port held by two of them at the same time fails the test.
func TestConcurrentReservationsNeverShareAPort(t *testing.T) {
	const (
		goroutines = 8
		rounds     = 50
		perSet     = 3
		children   = 3
	)
	// Room for everyone's ports at once, with slack for the locks that are
	// only being tried or released.
	cands := testCandidates(t, (goroutines+children)*perSet+12)
	dir := t.TempDir()

	var mu sync.Mutex
	holder := map[int]string{}
	claim := func(who string, ports []int) {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range ports {
			if other, ok := holder[p]; ok {
				t.Errorf("port %d handed to %s while %s holds it", p, who, other)
			}
			holder[p] = who
		}
	}
	unclaim := func(ports []int) {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range ports {
			delete(holder, p)
		}
	}

	// The children hold their ports through the whole test.
	for i := range children {
		c := startChild(t, childSpec{Dir: dir, Candidates: cands, N: perSet})
		claim(fmt.Sprintf("child %d", i), c.ports)
	}

	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			who := fmt.Sprintf("goroutine %d", g)
			for range rounds {
				s, err := reserver{dir: dir, candidates: cands}.reserve(perSet)
				if !assert.NoError(t, err) {
					return
				}
				claim(who, s.Ports())
				unclaim(s.Ports())
				assert.NoError(t, s.Release())
			}
		})
	}
	wg.Wait()
}

// lockPath is the lock file of port in dir.
func lockPath(dir string, port int) string {
	return dir + "/" + strconv.Itoa(port) + ".lock"
}
