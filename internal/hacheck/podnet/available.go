//go:build linux

package podnet

import (
	"fmt"

	"github.com/vishvananda/netlink"
)

// Available reports, as an error saying what refused, whether this machine
// lets this process give Pods addresses: create a network namespace and a
// veth pair into it. It adds no address and no route, and leaves nothing
// behind.
func Available() error {
	const hint = "network namespaces are not available to this process (pod networking needs Linux and root, or CAP_SYS_ADMIN and CAP_NET_ADMIN)"
	ns, err := newNamespace()
	if err != nil {
		return fmt.Errorf("%s: %w", hint, err)
	}
	defer ns.Close()
	name, err := linkName()
	if err != nil {
		return err
	}
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: podLink, PeerNamespace: netlink.NsFd(int(ns))}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("%s: create a veth pair: %w", hint, err)
	}
	if err := netlink.LinkDel(veth); err != nil {
		return fmt.Errorf("pod network: delete test veth %s: %w", name, err)
	}
	return nil
}
