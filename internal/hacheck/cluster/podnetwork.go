package cluster

import (
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"path/filepath"

	"github.com/primus-dev/primus/internal/hacheck/podnet"
)

// frontProxyUser is the user of the certificate kwokctl gives the
// kube-apiserver as its proxy client (--proxy-client-cert-file): the only
// name whose front-proxy headers the extension servers trust.
const frontProxyUser = "kwok-admin"

// reservePodNetwork checks that this machine allows network namespaces,
// reserves the cluster's Pod subnet, and sets the kwok and kube-apiserver
// options of Options.PodNetwork.
func (c *Cluster) reservePodNetwork() error {
	if err := podnet.Available(); err != nil {
		return fmt.Errorf("pod network: %w", err)
	}
	subnet, err := podnet.ReserveSubnet()
	if err != nil {
		return err
	}
	c.subnet = subnet
	flags := maps.Clone(c.kwokctl.apiServerFlags)
	if flags == nil {
		flags = map[string]string{}
	}
	for name, value := range aggregationFlags(filepath.Join(c.kwokctl.clusterDir(), "pki", "ca.crt")) {
		if _, set := flags[name]; !set {
			flags[name] = value
		}
	}
	c.kwokctl.apiServerFlags = flags
	c.log.Info("pod network", "subnet", subnet.Prefix().String())
	return nil
}

// aggregationFlags are the kube-apiserver flags that let it proxy to an
// APIService's Pods as a real cluster's does: dial the endpoints, not the
// Service's virtual IP (there is no kube-proxy), and send the caller as
// X-Remote-* headers signed by a client certificate from caFile whose name
// the extension servers find in kube-system/extension-apiserver-authentication.
func aggregationFlags(caFile string) map[string]string {
	return map[string]string{
		"enable-aggregator-routing":          "true",
		"requestheader-client-ca-file":       caFile,
		"requestheader-allowed-names":        frontProxyUser,
		"requestheader-username-headers":     "X-Remote-User",
		"requestheader-group-headers":        "X-Remote-Group",
		"requestheader-extra-headers-prefix": "X-Remote-Extra-",
	}
}

// nodePodCIDR is node i's Pod CIDR: 10.244.i.0/24 (what a real cluster's
// node IPAM would hand out, never routed here), or with a pod network the
// i-th /24 of the cluster's subnet, so that kwok gives Pods addresses the
// podrunner can route to.
func (c *Cluster) nodePodCIDR(i int) string {
	if c.subnet == nil {
		return fmt.Sprintf("10.244.%d.0/24", i%256)
	}
	return c.subnet.Node(i).String()
}

// PodNetwork returns the cluster's Pod network for a podrunner: the Pod
// subnet and the address its processes reach the API server at. It is
// nil for a cluster started without Options.PodNetwork, and for a cluster
// from FromKubeconfig.
func (c *Cluster) PodNetwork() *PodNetwork {
	if c.subnet == nil {
		return nil
	}
	u, err := url.Parse(c.restConfig.Host)
	if err != nil {
		return nil
	}
	return &PodNetwork{Subnet: c.subnet.Prefix(), APIServer: u.Host}
}

// PodNetwork describes a cluster's Pod network.
type PodNetwork struct {
	// Subnet holds every Pod IP kwok assigns.
	Subnet netip.Prefix
	// APIServer is the host:port of the API server on this machine's
	// loopback; each Pod's namespace forwards it to the host.
	APIServer string
}

// Sandbox creates the network namespace of a Pod with IP ip (see
// podnet.NewSandbox).
func (n *PodNetwork) Sandbox(ip string) (*podnet.Sandbox, error) {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return nil, fmt.Errorf("pod network: pod IP %q: %w", ip, err)
	}
	if !n.Subnet.Contains(addr) {
		return nil, fmt.Errorf("pod network: pod IP %s is outside the cluster's pod subnet %s", addr, n.Subnet)
	}
	return podnet.NewSandbox(addr, n.APIServer)
}
