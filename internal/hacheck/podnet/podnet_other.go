//go:build !linux

package podnet

import (
	"errors"
	"net/netip"
	"os/exec"
)

var errNotLinux = errors.New("pod network: network namespaces need Linux")

// Sandbox is a Pod's network namespace; only Linux has them.
type Sandbox struct{}

// NewSandbox fails: only Linux has network namespaces.
func NewSandbox(netip.Addr, ...string) (*Sandbox, error) { return nil, errNotLinux }

// Addr is the zero address.
func (*Sandbox) Addr() netip.Addr { return netip.Addr{} }

// Start fails.
func (*Sandbox) Start(*exec.Cmd) error { return errNotLinux }

// Close does nothing.
func (*Sandbox) Close() error { return nil }

// Subnet is a reserved subnet; only Linux has them.
type Subnet struct{}

// ReserveSubnet fails.
func ReserveSubnet() (*Subnet, error) { return nil, errNotLinux }

// Prefix is the zero prefix.
func (*Subnet) Prefix() netip.Prefix { return netip.Prefix{} }

// NodesPerSubnet is how many nodes a cluster's subnet has room for.
const NodesPerSubnet = 16

// Node is the zero prefix.
func (*Subnet) Node(int) netip.Prefix { return netip.Prefix{} }

// Release does nothing.
func (*Subnet) Release() error { return nil }

// Available says that only Linux has network namespaces.
func Available() error { return errNotLinux }
