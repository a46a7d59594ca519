// Package podnet gives the embedded cluster's Pods real addresses: one
// Linux network namespace per Pod, joined to this machine by a veth pair,
// with the Pod's IP (the one kwok wrote in its status) on the namespace's
// eth0 and a host route to it, so that the kube-apiserver (the aggregator
// dialling an APIService's endpoints) and the tests reach each Pod's
// process at its Pod IP and port, as they would on a real cluster.
//
// The layout is the one Calico uses: the Pod's default route goes to the
// link-local gateway 169.254.1.1, which the host end of every veth carries,
// and the host has a /32 route per Pod. Nothing is forwarded or NATed: the
// only traffic is between this machine's processes and the namespaces this
// package made. Each cluster gets its own /20 of 198.18.0.0/15 (RFC 2544's
// benchmarking range, which no real network routes), a /24 per node (kwok
// gives a Pod an IP of its node's Pod CIDR), locked across processes like
// the ports of package portlock, so clusters started at once never share a
// route.
//
// A Pod's process reaches the API server at the same loopback address as
// the host does (its kubeconfig is unchanged): a Sandbox forwards
// connections to the addresses it is given from the namespace's loopback to
// the host's.
//
// Namespaces are never named in /run/netns: a namespace lives while the
// Sandbox holds its handle or a process runs in it, so a crashed test
// leaves nothing behind once its processes are gone, and the veth pair
// goes with its namespace.
//
// It is not a CNI plugin and not for real clusters; it needs root (or
// CAP_SYS_ADMIN and CAP_NET_ADMIN): Available says whether this machine
// allows it.
package podnet
