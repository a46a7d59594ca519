//go:build linux

package podnet

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// helperEnv makes the test binary, started in a sandbox, print the
// addresses of its interfaces and exit: the view of a Pod's process.
const helperEnv = "PODNET_TEST_PRINT_ADDRS"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		ifs, _ := net.Interfaces()
		for _, i := range ifs {
			addrs, _ := i.Addrs()
			for _, a := range addrs {
				fmt.Printf("%s %s\n", i.Name, a)
			}
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// requireAvailable fails the test where network namespaces should work
// (root) but do not, and skips it where they cannot (not root).
func requireAvailable(t *testing.T) {
	t.Helper()
	err := Available()
	if err != nil && os.Geteuid() != 0 {
		t.Skipf("not root: %v", err)
	}
	require.NoError(t, err)
}

func reserve(t *testing.T) netip.Prefix {
	t.Helper()
	s, err := ReserveSubnet()
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Release() })
	return s.Prefix()
}

// podIP is the n-th address of p.
func podIP(p netip.Prefix, n int) netip.Addr {
	a := p.Addr()
	for range n {
		a = a.Next()
	}
	return a
}

func TestSandboxReachesAndIsReached(t *testing.T) {
	requireAvailable(t)
	subnet := reserve(t)

	// The "API server": a host loopback listener the Pod reaches through
	// its forwarder at the same address.
	host, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hostSrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "host saw "+r.RemoteAddr)
	}), ReadHeaderTimeout: 5 * time.Second}
	go hostSrv.Serve(host)
	t.Cleanup(func() { hostSrv.Close() })

	tests := []struct{ name string }{{"first pod"}, {"second pod"}}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := podIP(subnet, i+2)
			sb, err := NewSandbox(addr, host.Addr().String())
			require.NoError(t, err)
			t.Cleanup(func() { _ = sb.Close() })
			assert.Equal(t, addr, sb.Addr())

			// A server in the Pod, on its IP: this machine reaches it.
			var ln net.Listener
			require.NoError(t, inNamespace(sb.ns, func() (err error) {
				ln, err = net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
				return err
			}))
			podSrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "pod saw "+r.RemoteAddr)
			}), ReadHeaderTimeout: 5 * time.Second}
			go podSrv.Serve(ln)
			t.Cleanup(func() { podSrv.Close() })
			body := get(t, http.DefaultClient, "http://"+ln.Addr().String())
			assert.Equal(t, "pod saw "+Gateway.String(), body[:len("pod saw ")+len(Gateway.String())], "the host reaches the pod from the gateway address")

			// From the Pod, the host's loopback address is forwarded.
			var inPod *http.Client
			inPod = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, a string) (c net.Conn, err error) {
				err = inNamespace(sb.ns, func() (err error) {
					c, err = (&net.Dialer{}).DialContext(ctx, network, a)
					return err
				})
				return c, err
			}}}
			assert.True(t, strings.HasPrefix(get(t, inPod, "http://"+host.Addr().String()), "host saw 127.0.0.1:"))
		})
	}
}

func TestSandboxStartsProcessInside(t *testing.T) {
	requireAvailable(t)
	addr := podIP(reserve(t), 7)
	sb, err := NewSandbox(addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sb.Close() })

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, sb.Start(cmd))
	var lines []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	require.NoError(t, cmd.Wait())
	assert.ElementsMatch(t, []string{"lo 127.0.0.1/8", "lo ::1/128", "eth0 " + addr.String() + "/32"}, withoutLinkLocal(lines))
}

// withoutLinkLocal drops IPv6 link-local addresses, which the kernel adds
// to eth0 on its own.
func withoutLinkLocal(lines []string) []string {
	var out []string
	for _, l := range lines {
		if !strings.Contains(l, " fe80:") {
			out = append(out, l)
		}
	}
	return out
}

func TestCloseRemovesLinkAndRoute(t *testing.T) {
	requireAvailable(t)
	addr := podIP(reserve(t), 9)
	sb, err := NewSandbox(addr)
	require.NoError(t, err)
	link := sb.hostLink
	_, err = netlink.LinkByName(link)
	require.NoError(t, err)
	require.True(t, hasRoute(t, addr))

	require.NoError(t, sb.Close())
	require.NoError(t, sb.Close(), "Close twice")
	_, err = netlink.LinkByName(link)
	var notFound netlink.LinkNotFoundError
	assert.ErrorAs(t, err, &notFound)
	assert.False(t, hasRoute(t, addr))
	assert.Error(t, sb.Start(exec.Command("true")), "a closed sandbox starts nothing")
}

func hasRoute(t *testing.T, addr netip.Addr) bool {
	t.Helper()
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	require.NoError(t, err)
	for _, r := range routes {
		if r.Dst != nil && r.Dst.IP.Equal(addr.AsSlice()) {
			return true
		}
	}
	return false
}

func TestReserveSubnetHandsOutDistinctSubnets(t *testing.T) {
	if _, err := netlink.RouteList(nil, netlink.FAMILY_V4); err != nil {
		t.Skipf("no netlink: %v", err)
	}
	a, err := ReserveSubnet()
	require.NoError(t, err)
	defer a.Release()
	b, err := ReserveSubnet()
	require.NoError(t, err)
	assert.NotEqual(t, a.Prefix(), b.Prefix())
	assert.True(t, Range.Contains(a.Prefix().Addr()) && Range.Contains(b.Prefix().Addr()))
	assert.Equal(t, 20, a.Prefix().Bits())
	assert.Equal(t, netip.PrefixFrom(a.Prefix().Addr(), 24), a.Node(0))
	assert.True(t, a.Prefix().Contains(a.Node(NodesPerSubnet-1).Addr()), "the last node's /24 is in the subnet")
	assert.False(t, a.Prefix().Contains(a.Node(NodesPerSubnet).Addr()))
	path := b.lock.Name()
	_, err = lockFile(path)
	require.ErrorIs(t, err, unix.EWOULDBLOCK, "held while reserved")
	require.NoError(t, b.Release())
	require.NoError(t, b.Release(), "Release twice")
	f, err := lockFile(path)
	require.NoError(t, err, "free once released")
	f.Close()
}

func TestSubnetAt(t *testing.T) {
	tests := []struct {
		i    int
		want string
	}{{0, "198.18.0.0/20"}, {1, "198.18.16.0/20"}, {15, "198.18.240.0/20"}, {16, "198.19.0.0/20"}, {31, "198.19.240.0/20"}}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) { assert.Equal(t, tc.want, subnetAt(tc.i).String()) })
	}
}

func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}
