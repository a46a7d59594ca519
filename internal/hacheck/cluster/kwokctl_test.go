package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/primus-dev/primus/internal/hacheck/portlock"
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

func TestReservePorts(t *testing.T) {
	lo, hi, err := portlock.EphemeralRange()
	require.NoError(t, err)
	p, set, err := reservePorts()
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, set.Release()) })
	all := []int{p.APIServer, p.Etcd, p.EtcdPeer, p.KwokController, p.ControllerManager, p.Scheduler}
	assert.Equal(t, set.Ports(), all, "every component gets a reserved port")
	seen := map[int]bool{}
	for _, port := range all {
		assert.False(t, lo <= port && port <= hi, "port %d inside the ephemeral range %d-%d", port, lo, hi)
		assert.False(t, seen[port], "port %d picked twice", port)
		seen[port] = true
	}

	// A second cluster, started meanwhile, gets other ports.
	q, qset, err := reservePorts()
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, qset.Release()) })
	for _, port := range []int{q.APIServer, q.Etcd, q.EtcdPeer, q.KwokController, q.ControllerManager, q.Scheduler} {
		assert.False(t, seen[port], "port %d handed to two clusters", port)
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
		{name: "api server flag", in: Options{APIServerFlags: map[string]string{"max-requests-inflight": "10"}}, want: Options{Name: "primus", Nodes: 3, Zones: 3}},
		{name: "api server flag with dashes", in: Options{APIServerFlags: map[string]string{"--max-requests-inflight": "10"}}, wantErr: true},
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

func TestReadyByRunnerStages(t *testing.T) {
	k := kwokctl{name: "it", workdir: "/w", readiness: ReadyByRunner}
	docs := strings.Split(k.configYAML(ports{EtcdPeer: 1003}), "\n---\n")
	require.Len(t, docs, 6, "the kwokctl configuration and five Stages")
	type stage struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			ResourceRef struct {
				Kind string `json:"kind"`
			} `json:"resourceRef"`
			Next struct {
				StatusTemplate string `json:"statusTemplate"`
			} `json:"next"`
		} `json:"spec"`
	}
	var names []string
	for _, d := range docs[1:] {
		var s stage
		require.NoError(t, yaml.Unmarshal([]byte(d), &s), d)
		assert.Equal(t, "Stage", s.Kind)
		names = append(names, s.Spec.ResourceRef.Kind+"/"+s.Metadata.Name)
		if s.Metadata.Name == "pod-start-unready" {
			assert.Contains(t, s.Spec.Next.StatusTemplate, "status: \"False\"\n  reason: ContainersNotReady\n  type: Ready")
			assert.Contains(t, s.Spec.Next.StatusTemplate, "phase: Running")
			assert.NotContains(t, s.Spec.Next.StatusTemplate, "ready: true")
		}
	}
	assert.Equal(t, []string{"Node/node-initialize", "Node/node-heartbeat-with-lease", "Pod/pod-start-unready", "Pod/pod-complete", "Pod/pod-delete"}, names,
		"kwok's default stages, pod-ready replaced")

	assert.NotContains(t, kwokctl{name: "it", workdir: "/w"}.configYAML(ports{}), "kind: Stage", "ReadyAtOnce keeps kwok's defaults")
}

func TestAuditPolicyFlag(t *testing.T) {
	b, p := binariesIn("/b"), ports{}
	assert.NotContains(t, kwokctl{name: "it", workdir: "/w"}.createArgs(b, p), "--kube-audit-policy")
	k := kwokctl{name: "it", workdir: "/w", audit: true}
	assert.Equal(t, "/w/audit-policy.yaml", flagValues(k.createArgs(b, p))["kube-audit-policy"])
	assert.Equal(t, "/w/clusters/it/logs/audit.log", k.auditLogPath())
}

func TestAPIServerFlags(t *testing.T) {
	b, p := binariesIn("/b"), ports{}
	tests := []struct {
		name  string
		flags map[string]string
		want  []string
	}{
		{name: "none", flags: nil, want: nil},
		{
			name:  "sorted by name",
			flags: map[string]string{"max-requests-inflight": "10", "max-mutating-requests-inflight": "5"},
			want:  []string{"kube-apiserver=max-mutating-requests-inflight=5", "kube-apiserver=max-requests-inflight=10"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := kwokctl{name: "it", workdir: "/w", apiServerFlags: tc.flags}.createArgs(b, p)
			var got []string
			for i, a := range args {
				if a == "--extra-args" {
					require.Less(t, i+1, len(args))
					got = append(got, args[i+1])
				}
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestKwokModuleMatchesKwokVersion(t *testing.T) {
	root, err := FindRepoRoot()
	require.NoError(t, err)
	assert.Equal(t, KwokVersion, requiredModules(t, filepath.Join(root, "go.mod"))["sigs.k8s.io/kwok"],
		"the stages come from the kwok module that builds kwok and kwokctl")
}

func TestAggregationFlagsTrustOnlyTheProxyClient(t *testing.T) {
	flags := aggregationFlags("/w/pki/ca.crt")
	assert.Equal(t, "true", flags["enable-aggregator-routing"], "no kube-proxy: dial the endpoints")
	assert.Equal(t, "/w/pki/ca.crt", flags["requestheader-client-ca-file"])
	assert.Equal(t, frontProxyUser, flags["requestheader-allowed-names"], "only the aggregator's client certificate may assert a user")
	for name := range flags {
		assert.Regexp(t, validFlagName, name)
	}
}
