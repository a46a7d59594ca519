package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ports are the local TCP ports of one cluster's components.
type ports struct {
	APIServer         int
	Etcd              int
	EtcdPeer          int
	KwokController    int
	ControllerManager int
	Scheduler         int
}

// freePorts asks the kernel for distinct free ports on 127.0.0.1. kwokctl
// can pick ports itself, but it scans down from a fixed port and only
// remembers the ports of clusters in the same KWOK_WORKDIR, so two clusters
// created at once in separate work dirs would race for the same ports.
func freePorts() (ports, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	next := func() (int, error) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("pick a free port: %w", err)
		}
		ls = append(ls, l)
		return l.Addr().(*net.TCPAddr).Port, nil
	}
	var p ports
	for _, dst := range []*int{&p.APIServer, &p.Etcd, &p.EtcdPeer, &p.KwokController, &p.ControllerManager, &p.Scheduler} {
		port, err := next()
		if err != nil {
			return ports{}, err
		}
		*dst = port
	}
	return p, nil
}

// kwokctl runs the kwokctl binary against one private KWOK_WORKDIR.
type kwokctl struct {
	bin     string
	name    string
	workdir string
}

// clusterDir is where kwokctl keeps the cluster: config, pki, etcd data,
// pid files, logs and kubeconfig.yaml.
func (k kwokctl) clusterDir() string {
	return filepath.Join(k.workdir, "clusters", k.name)
}

// configPath is the kwokctl configuration Start writes.
func (k kwokctl) configPath() string {
	return filepath.Join(k.workdir, "kwokctl.yaml")
}

// toolsDir holds the stand-in kubectl; it is first on kwokctl's $PATH.
func (k kwokctl) toolsDir() string {
	return filepath.Join(k.workdir, "tools")
}

// kubectlPath is the stand-in kubectl Start writes (see kubectlStandIn).
func (k kwokctl) kubectlPath() string {
	return filepath.Join(k.toolsDir(), "kubectl")
}

// kubeconfigPath is the admin kubeconfig kwokctl writes for the host.
func (k kwokctl) kubeconfigPath() string {
	return filepath.Join(k.clusterDir(), "kubeconfig.yaml")
}

// kubectlStandIn replaces kubectl for kwokctl. The binary runtime needs
// kubectl only to poll `kubectl get --raw /version` after starting the
// components: it takes the first kubectl on $PATH, which writes its
// discovery cache to ~/.kube/cache, or else downloads one from dl.k8s.io.
// Start polls /readyz itself with client-go, so the stand-in, first on
// kwokctl's $PATH and named by its kubectlBinary option, just succeeds.
const kubectlStandIn = `#!/bin/sh
# Written by primus.dev/primus/internal/cluster. kwokctl only runs
# "kubectl get --raw /version" to see the API server serve; Primus waits for
# /readyz itself, so this stand-in for kubectl succeeds without doing anything.
exit 0
`

// configYAML is the kwokctl configuration for the options that have no
// command-line flag. bindAddress keeps every component on loopback
// (kwokctl's default is 0.0.0.0, all interfaces); kubeVersion only names
// what kwokctl would download, which the binary flags make moot.
func (k kwokctl) configYAML(p ports) string {
	return fmt.Sprintf(`apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  kubeVersion: %s
  bindAddress: 127.0.0.1
  etcdPeerPort: %d
  kubectlBinary: %s
`, KubernetesVersion, p.EtcdPeer, k.kubectlPath())
}

// createArgs returns the arguments of `kwokctl create cluster`: the binary
// runtime with every binary given by path (nothing to download), fixed
// ports, HTTPS with Node,RBAC authorization and the default admission
// plugins (PodSecurity included), and no edit of ~/.kube/config.
func (k kwokctl) createArgs(b Binaries, p ports) []string {
	itoa := strconv.Itoa
	return []string{
		"--name", k.name,
		"--config", k.configPath(),
		"create", "cluster",
		"--runtime", "binary",
		"--kubeconfig=",
		"--kube-apiserver-binary", b.KubeAPIServer,
		"--kube-controller-manager-binary", b.KubeControllerManager,
		"--kube-scheduler-binary", b.KubeScheduler,
		"--etcd-binary", b.Etcd,
		"--kwok-controller-binary", b.Kwok,
		"--kube-apiserver-port", itoa(p.APIServer),
		"--etcd-port", itoa(p.Etcd),
		"--controller-port", itoa(p.KwokController),
		"--kube-controller-manager-port", itoa(p.ControllerManager),
		"--kube-scheduler-port", itoa(p.Scheduler),
		"--secure-port=true",
		"--kube-authorization=true",
		"--kube-admission=true",
		"--timeout", "5m",
	}
}

// deleteArgs returns the arguments of `kwokctl delete cluster`. Unlike
// create, delete rejects an empty --kubeconfig ("empty path") and would
// otherwise edit ~/.kube/config, so it gets a path that never exists: kwokctl
// then finds no context to remove and writes nothing.
func (k kwokctl) deleteArgs() []string {
	return []string{
		"--name", k.name,
		"--config", k.configPath(),
		"delete", "cluster",
		"--kubeconfig", filepath.Join(k.workdir, "no-user-kubeconfig"),
	}
}

// env returns the environment of kwokctl: its work dir is private to the
// cluster, so nothing touches ~/.kwok and parallel clusters never see each
// other, and the stand-in kubectl comes first on $PATH. The components
// inherit it.
func (k kwokctl) env() []string {
	path := k.toolsDir()
	if old := os.Getenv("PATH"); old != "" {
		path += string(os.PathListSeparator) + old
	}
	return withEnv(os.Environ(), "KWOK_WORKDIR="+k.workdir, "PATH="+path)
}

// run executes kwokctl with args and returns its combined output.
func (k kwokctl) run(ctx context.Context, args ...string) (string, error) {
	out := &tailBuffer{max: 64 << 10}
	cmd := exec.CommandContext(ctx, k.bin, args...)
	cmd.Env = k.env()
	cmd.Dir = k.workdir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return out.lastLines(40), fmt.Errorf("kwokctl %s: %w\n%s", strings.Join(args, " "), err, out.lastLines(40))
	}
	return out.lastLines(40), nil
}
