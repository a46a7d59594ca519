// Package portlock reserves local TCP ports for processes that bind them
// later, such as the embedded cluster's etcd and kube-apiserver, which
// kwokctl starts with fixed --port flags.
//
// Picking a port by listening on 127.0.0.1:0 and closing the listener is a
// race: until the component binds it, the kernel may hand the same port to
// any other process that binds :0 or opens a connection (replicas, test
// servers, other clusters of packages that `go test ./...` runs in
// parallel). portlock closes that race two ways at once:
//
//   - It picks ports outside the kernel's ephemeral range
//     (/proc/sys/net/ipv4/ip_local_port_range). The kernel only ever
//     assigns ports inside that range, to :0 binds and to outgoing
//     connections, so no such process can be handed a reserved port.
//   - It reserves each port across processes with an exclusive flock(2) on
//     a file per port under a shared directory (os.TempDir()/primus-ports),
//     held until Release, or until the holder dies: the kernel drops the
//     lock with the process, so a crash never leaks a port.
//
// Before handing a port out it checks that 127.0.0.1:port can be bound,
// which skips a port some unrelated service listens on, and the ports of a
// cluster that outlives its owner (hacheck verify --keep).
//
// It is not for a process's own listeners: a process that binds the port
// itself should listen on :0 and keep the listener.
package portlock

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// ephemeralRangeFile is where Linux keeps the range of ports it assigns to
// :0 binds and outgoing connections.
const ephemeralRangeFile = "/proc/sys/net/ipv4/ip_local_port_range"

// minPort is the lowest port handed out: below it ports are privileged.
const minPort = 1024

// Dir is the directory of the lock files all processes share.
func Dir() string { return filepath.Join(os.TempDir(), "primus-ports") }

// Set is a set of reserved ports. Its methods are safe for concurrent use.
type Set struct {
	ports []int

	mu    sync.Mutex
	locks []*lock
}

// Reserve reserves n distinct ports outside the ephemeral range, each
// bindable on 127.0.0.1 and locked in Dir until Release.
func Reserve(n int) (*Set, error) {
	lo, hi, err := EphemeralRange()
	if err != nil {
		return nil, err
	}
	return reserver{dir: Dir(), candidates: candidates(lo, hi, rand.IntN)}.reserve(n)
}

// Ports returns the reserved ports, in the order they were reserved.
func (s *Set) Ports() []int { return append([]int(nil), s.ports...) }

// Release gives the ports back. It is safe to call twice and on a nil Set.
func (s *Set) Release() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	locks := s.locks
	s.locks = nil
	s.mu.Unlock()
	var errs []error
	for _, l := range locks {
		errs = append(errs, l.release())
	}
	return errors.Join(errs...)
}

// EphemeralRange returns the first and last port of the kernel's ephemeral
// range. Where /proc does not say (not Linux), it is IANA's 49152-65535,
// macOS's default.
func EphemeralRange() (lo, hi int, err error) {
	raw, err := os.ReadFile(ephemeralRangeFile)
	if errors.Is(err, os.ErrNotExist) {
		return 49152, 65535, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("ephemeral port range: %w", err)
	}
	return parseRange(string(raw))
}

// parseRange parses "32768\t60999\n".
func parseRange(s string) (lo, hi int, err error) {
	f := strings.Fields(s)
	if len(f) == 2 {
		lo, err1 := strconv.Atoi(f[0])
		hi, err2 := strconv.Atoi(f[1])
		if err1 == nil && err2 == nil && 0 < lo && lo <= hi && hi <= 65535 {
			return lo, hi, nil
		}
	}
	return 0, 0, fmt.Errorf("ephemeral port range %s: want two ports, got %q", ephemeralRangeFile, s)
}

// candidates returns the ports outside [lo, hi] in the order reserve tries
// them. The gap above the ephemeral range comes first, from a random
// start: nothing else assigns ports there (kwokctl's own picker and most
// fixed-port services live below it), and a random start spreads parallel
// reservations and seldom hands out a port a cluster just gave back. The
// gap below follows, from the top down, for kernels whose ephemeral range
// reaches 65535.
func candidates(lo, hi int, randN func(int) int) []int {
	var out []int
	if above := 65535 - hi; above > 0 {
		start := randN(above)
		for i := range above {
			out = append(out, hi+1+(start+i)%above)
		}
	}
	for p := lo - 1; p >= minPort; p-- {
		out = append(out, p)
	}
	return out
}

// reserver reserves ports from candidates with lock files in dir; tests
// give it a private dir and a short list.
type reserver struct {
	dir        string
	candidates []int
}

// reserve locks the first n candidates that no one holds and that bind.
func (r reserver) reserve(n int) (*Set, error) {
	if err := mkdirShared(r.dir); err != nil {
		return nil, err
	}
	s := &Set{}
	for _, port := range r.candidates {
		if len(s.ports) == n {
			break
		}
		l, err := tryLock(r.dir, port)
		if err != nil {
			_ = s.Release()
			return nil, err
		}
		if l == nil {
			continue
		}
		if !bindable(port) {
			_ = l.release()
			continue
		}
		s.ports = append(s.ports, port)
		s.locks = append(s.locks, l)
	}
	if len(s.ports) < n {
		got := len(s.ports)
		_ = s.Release()
		return nil, fmt.Errorf("reserve %d ports outside the ephemeral range: only %d of %d candidates were free", n, got, len(r.candidates))
	}
	return s, nil
}

// mkdirShared creates dir writable by every user, like /tmp, so that the
// processes of all users on the machine share one set of locks.
func mkdirShared(dir string) error {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("port lock dir: %w", err)
	}
	// Best effort: only the owner may chmod, and umask trimmed MkdirAll.
	_ = os.Chmod(dir, 0o777|os.ModeSticky)
	return nil
}

// bindable reports whether 127.0.0.1:port can be listened on now, the
// address the cluster's components bind.
func bindable(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// lock is a held flock on a port's lock file.
type lock struct {
	f    *os.File
	path string
}

// tryLock takes the lock of port without waiting. It returns nil, nil when
// another process (or another Set of this one: flock locks belong to the
// open file, not the process) holds it.
//
// Release removes the file, so that the directory holds only the ports in
// use. Removing a lock file is safe only with a check after locking: a
// process that opened the file before its holder removed it may lock the
// removed file afterwards, while a third process locks the new file at the
// same path. So a lock counts only if the locked file is still the one at
// path; only a holder whose check passed ever removes it.
func tryLock(dir string, port int) (*lock, error) {
	path := filepath.Join(dir, strconv.Itoa(port)+".lock")
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o644)
	if errors.Is(err, os.ErrPermission) {
		return nil, nil // another user's file, whose holder may be alive
	}
	if err != nil {
		return nil, fmt.Errorf("port lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil
		}
		return nil, fmt.Errorf("port lock %s: %w", path, err)
	}
	locked, err1 := f.Stat()
	current, err2 := os.Stat(path)
	if err1 != nil || err2 != nil || !os.SameFile(locked, current) {
		_ = f.Close() // the file was released and removed: not ours to remove
		return nil, nil
	}
	return &lock{f: f, path: path}, nil
}

// release removes the lock file, then unlocks it by closing it. A file
// another user left (its holder died) cannot be removed from the sticky
// directory; it stays, which is harmless.
func (l *lock) release() error {
	rmErr := os.Remove(l.path)
	if errors.Is(rmErr, os.ErrNotExist) || errors.Is(rmErr, os.ErrPermission) {
		rmErr = nil
	}
	return errors.Join(rmErr, l.f.Close())
}
