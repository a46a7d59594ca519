package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// flagValues maps each --flag of args to its value ("--a=b", "--a b").
func flagValues(args []string) map[string]string {
	out := map[string]string{}
	for i := 0; i < len(args); i++ {
		name, ok := strings.CutPrefix(args[i], "--")
		if !ok {
			continue
		}
		if k, v, ok := strings.Cut(name, "="); ok {
			out[k] = v
			continue
		}
		if i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
			out[name] = args[i+1]
			i++
		}
	}
	return out
}

func TestCreateArgs(t *testing.T) {
	k := kwokctl{bin: "/b/kwokctl", name: "it", workdir: "/w"}
	b := binariesIn("/b")
	p := ports{APIServer: 1001, Etcd: 1002, EtcdPeer: 1003, KwokController: 1004, ControllerManager: 1005, Scheduler: 1006}
	flags := flagValues(k.createArgs(b, p))
	tests := []struct {
		flag string
		want string
	}{
		{flag: "name", want: "it"},
		{flag: "config", want: "/w/kwokctl.yaml"},
		{flag: "runtime", want: "binary"},
		{flag: "kubeconfig", want: ""},
		{flag: "kube-apiserver-binary", want: "/b/kube-apiserver"},
		{flag: "kube-controller-manager-binary", want: "/b/kube-controller-manager"},
		{flag: "kube-scheduler-binary", want: "/b/kube-scheduler"},
		{flag: "etcd-binary", want: "/b/etcd"},
		{flag: "kwok-controller-binary", want: "/b/kwok"},
		{flag: "kube-apiserver-port", want: "1001"},
		{flag: "etcd-port", want: "1002"},
		{flag: "controller-port", want: "1004"},
		{flag: "kube-controller-manager-port", want: "1005"},
		{flag: "kube-scheduler-port", want: "1006"},
		{flag: "secure-port", want: "true"},
		{flag: "kube-authorization", want: "true"},
		{flag: "kube-admission", want: "true"},
	}
	for _, tc := range tests {
		t.Run(tc.flag, func(t *testing.T) {
			got, ok := flags[tc.flag]
			require.True(t, ok, "--%s missing", tc.flag)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestDeleteArgsNeverTouchUserKubeconfig(t *testing.T) {
	k := kwokctl{bin: "/b/kwokctl", name: "it", workdir: "/w"}
	flags := flagValues(k.deleteArgs())
	assert.Equal(t, "it", flags["name"])
	assert.True(t, strings.HasPrefix(flags["kubeconfig"], "/w/"), "kubeconfig %q must stay in the work dir", flags["kubeconfig"])
}

func TestConfigYAML(t *testing.T) {
	k := kwokctl{name: "it", workdir: "/w"}
	var cfg struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Options    struct {
			KubeVersion   string `json:"kubeVersion"`
			BindAddress   string `json:"bindAddress"`
			EtcdPeerPort  int    `json:"etcdPeerPort"`
			KubectlBinary string `json:"kubectlBinary"`
		} `json:"options"`
	}
	require.NoError(t, yaml.UnmarshalStrict([]byte(k.configYAML(ports{EtcdPeer: 1003})), &cfg))
	assert.Equal(t, "config.kwok.x-k8s.io/v1alpha1", cfg.APIVersion)
	assert.Equal(t, "KwokctlConfiguration", cfg.Kind)
	assert.Equal(t, KubernetesVersion, cfg.Options.KubeVersion)
	assert.Equal(t, "127.0.0.1", cfg.Options.BindAddress)
	assert.Equal(t, 1003, cfg.Options.EtcdPeerPort)
	assert.Equal(t, "/w/tools/kubectl", cfg.Options.KubectlBinary)
}

func TestKwokctlEnv(t *testing.T) {
	t.Setenv("PATH", "/usr/bin")
	t.Setenv("KWOK_WORKDIR", "/home/u/.kwok")
	env := map[string][]string{}
	for _, e := range (kwokctl{name: "it", workdir: "/w"}).env() {
		k, v, _ := strings.Cut(e, "=")
		env[k] = append(env[k], v)
	}
	assert.Equal(t, []string{"/w"}, env["KWOK_WORKDIR"], "never the user's ~/.kwok")
	assert.Equal(t, []string{"/w/tools:/usr/bin"}, env["PATH"], "the stand-in kubectl comes first")
}

func TestFreePortsDistinct(t *testing.T) {
	p, err := freePorts()
	require.NoError(t, err)
	all := []int{p.APIServer, p.Etcd, p.EtcdPeer, p.KwokController, p.ControllerManager, p.Scheduler}
	seen := map[int]bool{}
	for _, port := range all {
		assert.Positive(t, port)
		assert.False(t, seen[port], "port %d picked twice", port)
		seen[port] = true
	}
}

func TestOptionsDefaults(t *testing.T) {
	tests := []struct {
		name    string
		in      Options
		want    Options
		wantErr bool
	}{
		{name: "zero value", in: Options{}, want: Options{Name: "primus", Nodes: 3, Zones: 3}},
		{name: "explicit", in: Options{Name: "a-1", Nodes: 5, Zones: 2}, want: Options{Name: "a-1", Nodes: 5, Zones: 2}},
		{name: "bad name", in: Options{Name: "Bad_Name"}, wantErr: true},
		{name: "too many zones", in: Options{Zones: 27}, wantErr: true},
		{name: "negative nodes", in: Options{Nodes: -1}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.in.withDefaults()
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want.Name, got.Name)
			assert.Equal(t, tc.want.Nodes, got.Nodes)
			assert.Equal(t, tc.want.Zones, got.Zones)
			assert.Positive(t, got.ReadyTimeout)
		})
	}
}

// TestFailedStartCleansUp starts a "cluster" whose kwokctl fails at once:
// Start must return the error with kwokctl's output, leave nothing in
// TempDir, and a later Stop must be harmless.
func TestFailedStartCleansUp(t *testing.T) {
	bin := t.TempDir()
	kwokctl := filepath.Join(bin, "kwokctl")
	require.NoError(t, os.WriteFile(kwokctl, []byte("#!/bin/sh\necho 'simulated failure' >&2\nexit 3\n"), 0o755))
	b := binariesIn(bin)
	tmp := t.TempDir()

	c, err := Start(t.Context(), Options{Name: "broken", Binaries: &b, TempDir: tmp})
	require.Error(t, err)
	assert.Nil(t, c)
	assert.Contains(t, err.Error(), "simulated failure")
	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, entries, "work dir left behind")

	var nilCluster *Cluster
	assert.NoError(t, nilCluster.Stop(t.Context()))
}
