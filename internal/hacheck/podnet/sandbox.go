//go:build linux

package podnet

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Gateway is the link-local address the host end of every veth carries
// and every Pod's default route points at.
var Gateway = netip.MustParseAddr("169.254.1.1")

// podLink is the name of the Pod's end of its veth pair, in its namespace.
const podLink = "eth0"

// Sandbox is one Pod's network namespace: its IP on eth0, loopback up, a
// default route to the host, and forwarders from its loopback to the
// host's. Close tears it down.
type Sandbox struct {
	addr     netip.Addr
	ns       netns.NsHandle
	hostLink string

	mu         sync.Mutex
	forwarders []*forwarder
	closed     bool
}

// NewSandbox creates a namespace for a Pod with IP addr, reachable from
// this machine at addr, in which connections to each of forward (host
// loopback addresses such as the API server's "127.0.0.1:6443") reach the
// same address on the host.
func NewSandbox(addr netip.Addr, forward ...string) (_ *Sandbox, err error) {
	if !addr.Is4() || addr.IsLoopback() || addr.IsUnspecified() {
		return nil, fmt.Errorf("pod network: %s is not a pod IPv4 address", addr)
	}
	ns, err := newNamespace()
	if err != nil {
		return nil, fmt.Errorf("pod network %s: %w", addr, err)
	}
	s := &Sandbox{addr: addr, ns: ns}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	if s.hostLink, err = linkName(); err != nil {
		return nil, err
	}
	if err := s.wire(); err != nil {
		return nil, fmt.Errorf("pod network %s: %w", addr, err)
	}
	for _, target := range forward {
		f, err := s.forward(target)
		if err != nil {
			return nil, fmt.Errorf("pod network %s: forward %s: %w", addr, target, err)
		}
		s.forwarders = append(s.forwarders, f)
	}
	return s, nil
}

// linkName is a fresh name for a veth's host end: "pn" and eight hex
// digits, within the kernel's 15 characters. It is random rather than
// derived from the Pod IP because kwok hands a deleted Pod's IP to the next
// Pod while the old process may still be stopping in its own namespace.
func linkName() (string, error) {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("pod network: link name: %w", err)
	}
	return "pn" + hex.EncodeToString(b), nil
}

// wire creates the veth pair with its Pod end in the namespace and sets up
// both ends.
func (s *Sandbox) wire() error {
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: s.hostLink},
		PeerName:      podLink,
		PeerNamespace: netlink.NsFd(int(s.ns)),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth %s: %w", s.hostLink, err)
	}
	host, err := netlink.LinkByName(s.hostLink)
	if err != nil {
		return fmt.Errorf("veth %s: %w", s.hostLink, err)
	}
	gw := &net.IPNet{IP: Gateway.AsSlice(), Mask: net.CIDRMask(32, 32)}
	if err := netlink.AddrAdd(host, &netlink.Addr{IPNet: gw, Scope: unix.RT_SCOPE_LINK}); err != nil {
		return fmt.Errorf("address %s on %s: %w", Gateway, s.hostLink, err)
	}
	if err := netlink.LinkSetUp(host); err != nil {
		return fmt.Errorf("veth %s up: %w", s.hostLink, err)
	}
	// Replace, not add: the route of a stopping Pod that had this IP
	// before goes to the new Pod, as the Service's endpoints do.
	if err := netlink.RouteReplace(&netlink.Route{
		LinkIndex: host.Attrs().Index,
		Dst:       &net.IPNet{IP: s.addr.AsSlice(), Mask: net.CIDRMask(32, 32)},
		Src:       Gateway.AsSlice(),
		Scope:     netlink.SCOPE_LINK,
	}); err != nil {
		return fmt.Errorf("route to %s: %w", s.addr, err)
	}
	return s.wirePod()
}

// wirePod sets up the namespace's side: lo and eth0 up, the Pod IP on
// eth0, and the default route through the gateway.
func (s *Sandbox) wirePod() error {
	h, err := netlink.NewHandleAt(s.ns)
	if err != nil {
		return fmt.Errorf("netlink in the pod's namespace: %w", err)
	}
	defer h.Delete()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("pod lo: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("pod lo up: %w", err)
	}
	eth, err := h.LinkByName(podLink)
	if err != nil {
		return fmt.Errorf("pod %s: %w", podLink, err)
	}
	if err := h.AddrAdd(eth, &netlink.Addr{IPNet: &net.IPNet{IP: s.addr.AsSlice(), Mask: net.CIDRMask(32, 32)}}); err != nil {
		return fmt.Errorf("address %s on pod %s: %w", s.addr, podLink, err)
	}
	if err := h.LinkSetUp(eth); err != nil {
		return fmt.Errorf("pod %s up: %w", podLink, err)
	}
	gw := &net.IPNet{IP: Gateway.AsSlice(), Mask: net.CIDRMask(32, 32)}
	if err := h.RouteAdd(&netlink.Route{LinkIndex: eth.Attrs().Index, Dst: gw, Scope: netlink.SCOPE_LINK}); err != nil {
		return fmt.Errorf("pod route to %s: %w", Gateway, err)
	}
	if err := h.RouteAdd(&netlink.Route{LinkIndex: eth.Attrs().Index, Gw: Gateway.AsSlice()}); err != nil {
		return fmt.Errorf("pod default route: %w", err)
	}
	return nil
}

// Addr is the Pod's IP: where this machine reaches its process.
func (s *Sandbox) Addr() netip.Addr { return s.addr }

// Start starts cmd inside the namespace (cmd.Start, on a thread that has
// joined it). cmd must not set SysProcAttr.Pdeathsig: that signal follows
// the thread that forked the child, which exits right after.
func (s *Sandbox) Start(cmd *exec.Cmd) error {
	if cmd.SysProcAttr != nil && cmd.SysProcAttr.Pdeathsig != 0 {
		return errors.New("pod network: Start cannot honour Pdeathsig")
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return errors.New("pod network: sandbox closed")
	}
	return inNamespace(s.ns, cmd.Start)
}

// Close stops the forwarders, deletes the host end of the veth (which
// deletes the Pod's end and the routes through it) and drops the handle on
// the namespace; a process still running in it keeps it until it exits.
// It is safe to call twice.
func (s *Sandbox) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	fwd := s.forwarders
	s.forwarders = nil
	s.mu.Unlock()
	var errs []error
	for _, f := range fwd {
		f.close()
	}
	if s.hostLink != "" {
		if l, err := netlink.LinkByName(s.hostLink); err == nil {
			if err := netlink.LinkDel(l); err != nil {
				errs = append(errs, fmt.Errorf("pod network %s: delete %s: %w", s.addr, s.hostLink, err))
			}
		}
	}
	if s.ns.IsOpen() {
		errs = append(errs, s.ns.Close())
	}
	return errors.Join(errs...)
}
