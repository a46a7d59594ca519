//go:build linux

package podnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Range is where subnets come from: RFC 2544's benchmarking range, which
// no real network routes.
var Range = netip.MustParsePrefix("198.18.0.0/15")

// subnetBits is the size of one cluster's subnet: a /20, sixteen /24s,
// one per node (kwok gives a Pod an IP of its node's Pod CIDR).
const subnetBits = 20

// nodeBits is the size of one node's Pod CIDR: 254 Pod IPs.
const nodeBits = 24

// NodesPerSubnet is how many nodes a cluster's subnet has room for.
const NodesPerSubnet = 1 << (nodeBits - subnetBits)

// Dir is the directory of the lock files all processes share.
func Dir() string { return filepath.Join(os.TempDir(), "primus-podnets") }

// Subnet is a /20 of Range reserved for one cluster's Pod IPs, locked
// across processes until Release or until this process dies.
type Subnet struct {
	prefix netip.Prefix
	lock   *os.File
}

// ReserveSubnet reserves a subnet of Range that no other process holds
// and that no route of this machine overlaps (a cluster kept running by
// `hacheck verify --keep` still has its routes).
func ReserveSubnet() (*Subnet, error) {
	if err := os.MkdirAll(Dir(), 0o777); err != nil {
		return nil, fmt.Errorf("pod network: %w", err)
	}
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("pod network: list routes: %w", err)
	}
	n := 1 << (subnetBits - Range.Bits())
	for i := range n {
		p := subnetAt(i)
		if overlapsRoute(p, routes) {
			continue
		}
		f, err := lockFile(filepath.Join(Dir(), strconv.Itoa(i)+".lock"))
		if errors.Is(err, unix.EWOULDBLOCK) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("pod network: %w", err)
		}
		return &Subnet{prefix: p, lock: f}, nil
	}
	return nil, fmt.Errorf("pod network: all %d subnets of %s are taken", n, Range)
}

// subnetAt is the i-th subnet of Range.
func subnetAt(i int) netip.Prefix { return nth(Range, i, subnetBits) }

// nth is the i-th prefix of length bits within p.
func nth(p netip.Prefix, i, bits int) netip.Prefix {
	b := p.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(i) << (32 - bits)
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), bits)
}

// overlapsRoute reports whether a route of this machine leads into p.
func overlapsRoute(p netip.Prefix, routes []netlink.Route) bool {
	for _, r := range routes {
		if r.Dst == nil {
			continue // the default route
		}
		if dst, ok := prefixOf(r.Dst); ok && dst.Bits() > 0 && dst.Overlaps(p) {
			return true
		}
	}
	return false
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}

// lockFile opens path and takes an exclusive flock without waiting.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Prefix is the subnet.
func (s *Subnet) Prefix() netip.Prefix { return s.prefix }

// Node is the Pod CIDR of node i (0 <= i < NodesPerSubnet): the i-th /24
// of the subnet.
func (s *Subnet) Node(i int) netip.Prefix { return nth(s.prefix, i, nodeBits) }

// Release gives the subnet back. It is safe to call twice and on a nil
// Subnet.
func (s *Subnet) Release() error {
	if s == nil || s.lock == nil {
		return nil
	}
	err := s.lock.Close()
	s.lock = nil
	return err
}
