package cluster

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/primus-dev/primus/internal/hacheck/portlock"
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

// reservePorts reserves distinct ports for the components with portlock:
// outside the kernel's ephemeral range, so no process binding :0 and no
// outgoing connection can be handed one, and locked across processes until
// the returned Set is released (Cluster.Stop) or this process dies. Listening
// on 127.0.0.1:0 and closing would leave a window in which any such process
// could take the port before the component binds it. kwokctl's own picker
// is no better: it scans down from 32767 and only knows the clusters of its
// own KWOK_WORKDIR. kwokctl gets every port it would otherwise pick (see
// createArgs and configYAML).
func reservePorts() (ports, *portlock.Set, error) {
	var p ports
	dsts := []*int{&p.APIServer, &p.Etcd, &p.EtcdPeer, &p.KwokController, &p.ControllerManager, &p.Scheduler}
	set, err := portlock.Reserve(len(dsts))
	if err != nil {
		return ports{}, nil, err
	}
	for i, port := range set.Ports() {
		*dsts[i] = port
	}
	return p, set, nil
}

// kwokctl runs the kwokctl binary against one private KWOK_WORKDIR.
type kwokctl struct {
	bin     string
	name    string
	workdir string
	// readiness selects the pod stages (see Readiness).
	readiness Readiness
	// audit turns on the API server's audit log, with the policy at
	// auditPolicyPath.
	audit bool
	// apiServerFlags are extra kube-apiserver flags (Options.APIServerFlags).
	apiServerFlags map[string]string
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

// auditPolicyPath is the audit policy Start writes when Options.AuditPolicy
// is set; kwokctl copies it into the cluster directory.
func (k kwokctl) auditPolicyPath() string {
	return filepath.Join(k.workdir, "audit-policy.yaml")
}

// auditLogPath is where the API server writes its audit log (kwokctl's
// binary runtime puts it with the component logs).
func (k kwokctl) auditLogPath() string {
	return filepath.Join(k.clusterDir(), "logs", "audit.log")
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
# Written by github.com/primus-dev/primus/internal/cluster. kwokctl only runs
# "kubectl get --raw /version" to see the API server serve; Primus waits for
# /readyz itself, so this stand-in for kubectl succeeds without doing anything.
exit 0
`

// configYAML is the kwokctl configuration for the options that have no
// command-line flag. bindAddress keeps every component on loopback
// (kwokctl's default is 0.0.0.0, all interfaces); kubeVersion only names
// what kwokctl would download, which the binary flags make moot. With
// ReadyByRunner the kwok Stages follow as further documents.
func (k kwokctl) configYAML(p ports) string {
	return fmt.Sprintf(`apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  kubeVersion: %s
  bindAddress: 127.0.0.1
  etcdPeerPort: %d
  kubectlBinary: %s
`, KubernetesVersion, p.EtcdPeer, k.kubectlPath()) + stagesYAML(k.readiness)
}

// createArgs returns the arguments of `kwokctl create cluster`: the binary
// runtime with every binary given by path (nothing to download), fixed
// ports, HTTPS with Node,RBAC authorization and the default admission
// plugins (PodSecurity included), no edit of ~/.kube/config, and the audit
// policy when there is one, and one --extra-args per extra kube-apiserver
// flag, sorted by name.
func (k kwokctl) createArgs(b Binaries, p ports) []string {
	itoa := strconv.Itoa
	args := []string{
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
	if k.audit {
		args = append(args, "--kube-audit-policy", k.auditPolicyPath())
	}
	for _, name := range slices.Sorted(maps.Keys(k.apiServerFlags)) {
		args = append(args, "--extra-args", apiServerComponent+"="+name+"="+k.apiServerFlags[name])
	}
	return args
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
