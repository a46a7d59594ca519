package invariants

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/primus-dev/primus/internal/hacheck/render"
)

// TestElectionDialects reads one container per dialect and binary default:
// the verdict, the Lease and the evidence, which quotes only what the
// manifest or the controller table says.
func TestElectionDialects(t *testing.T) {
	cms := map[string]map[string]string{"ops/params": {"elect": "true", "LEADER_ELECTION": "true"}}
	tests := []struct {
		name         string
		c            corev1.Container
		want         ElectionState
		lease, ns    string
		wantEvidence string
	}{
		{name: "component-base", c: corev1.Container{Image: "example.com/x", Args: []string{"--leader-elect=true", "--leader-elect-resource-name=x", "--leader-elect-resource-namespace=kube-system"}},
			want: ElectionOn, lease: "x", ns: "kube-system", wantEvidence: "--leader-elect=true"},
		{name: "controller-runtime two arguments", c: corev1.Container{Image: "example.com/x", Args: []string{"--enable-leader-election", "--leader-election-id", "x", "--leader-election-namespace", "locks"}},
			want: ElectionOn, lease: "x", ns: "locks", wantEvidence: "--enable-leader-election"},
		{name: "single dash in command", c: corev1.Container{Image: "example.com/x", Command: []string{"/manager", "-leader-elect=false"}},
			want: ElectionOff, ns: "ops", wantEvidence: "-leader-elect=false"},
		{name: "ingress-nginx on by default, --election-id", c: corev1.Container{Image: "registry.k8s.io/ingress-nginx/controller:v1.12.0@sha256:abc", Args: []string{"/nginx-ingress-controller", "--election-id=ing-leader"}},
			want: ElectionOn, lease: "ing-leader", ns: "ops", wantEvidence: "ingress-nginx controller binary elects by default"},
		{name: "ingress-nginx disabled", c: corev1.Container{Image: "registry.k8s.io/ingress-nginx/controller:v1.12.0", Args: []string{"--disable-leader-election=true"}},
			want: ElectionOff, lease: "ingress-controller-leader", ns: "ops", wantEvidence: "--disable-leader-election=true"},
		{name: "CSI sidecar", c: corev1.Container{Image: "registry.k8s.io/sig-storage/csi-provisioner:v5", Args: []string{"--leader-election", "--leader-election-namespace=storage"}},
			want: ElectionOn, ns: "storage", wantEvidence: "--leader-election"},
		{name: "cert-manager default, mirror registry", c: corev1.Container{Image: "mirror.example.com/jetstack/cert-manager-controller:v1", Args: []string{"--leader-election-namespace=kube-system"}},
			want: ElectionOn, lease: "cert-manager-controller", ns: "kube-system", wantEvidence: "cert-manager controller binary elects by default"},
		{name: "cluster-autoscaler --namespace", c: corev1.Container{Image: "registry.k8s.io/autoscaling/cluster-autoscaler:v1.33.0", Command: []string{"./cluster-autoscaler", "--namespace=ops"}},
			want: ElectionOn, lease: "cluster-autoscaler", ns: "ops", wantEvidence: "elects by default"},
		{name: "kyverno always", c: corev1.Container{Image: "ghcr.io/kyverno/kyverno:v1.14.0"}, want: ElectionOn, lease: "kyverno", ns: "ops", wantEvidence: "always elects"},
		{name: "external-secrets certcontroller subcommand", c: corev1.Container{Image: "ghcr.io/external-secrets/external-secrets:v0.18.0", Args: []string{"certcontroller", "--enable-leader-election=true"}},
			want: ElectionOn, lease: "crd-certs-controller", ns: "ops", wantEvidence: "--enable-leader-election=true"},
		{name: "external-secrets webhook", c: corev1.Container{Image: "ghcr.io/external-secrets/external-secrets:v0.18.0", Args: []string{"webhook"}},
			want: ElectionNotNeeded, ns: "ops", wantEvidence: "needs no leader election"},
		{name: "envFrom a ConfigMap", c: corev1.Container{Image: "xpkg.crossplane.io/crossplane/crossplane:v1", Args: []string{"core", "start"},
			EnvFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "params"}}}}},
			want: ElectionOn, lease: "crossplane-leader-election-core", ns: "ops", wantEvidence: "from ConfigMap params"},
		{name: "env from a Secret is unknown", c: corev1.Container{Image: "xpkg.crossplane.io/crossplane/crossplane:v1", Args: []string{"core", "start"},
			Env: []corev1.EnvVar{{Name: "LEADER_ELECTION", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "k"}}}}},
			want: ElectionUnknown, lease: "crossplane-leader-election-core", ns: "ops", wantEvidence: "which a render cannot read"},
		{name: "flag beats env", c: corev1.Container{Image: "quay.io/argoproj/argocd:v3", Args: []string{"/usr/local/bin/argocd-applicationset-controller", "--enable-leader-election=false"},
			Env: []corev1.EnvVar{{Name: "ARGOCD_APPLICATIONSET_CONTROLLER_ENABLE_LEADER_ELECTION", Value: "true"}}},
			want: ElectionOff, lease: "58ac56fa.applicationsets.argoproj.io", ns: "ops", wantEvidence: "--enable-leader-election=false"},
		{name: "resource lock configmaps is not a Lease", c: corev1.Container{Image: "example.com/x", Args: []string{"--leader-elect", "--leader-elect-resource-lock=configmaps"}},
			want: ElectionOn, ns: "ops", wantEvidence: "--leader-elect"},
		{name: "karpenter disabled through the environment", c: corev1.Container{Image: "public.ecr.aws/karpenter/controller:1.6.0",
			Env: []corev1.EnvVar{{Name: "DISABLE_LEADER_ELECTION", Value: "true"}}},
			want: ElectionOff, lease: "karpenter-leader-election", ns: "ops", wantEvidence: `env DISABLE_LEADER_ELECTION="true"`},
		{name: "kube-state-metrics only reads", c: corev1.Container{Image: "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.16.0", Args: []string{"--port=8080"}},
			want: ElectionNotNeeded, ns: "ops", wantEvidence: "needs no leader election"},
		{name: "unknown image", c: corev1.Container{Image: "example.com/x", Args: []string{"--port=80"}},
			want: ElectionUnknown, ns: "ops", wantEvidence: "not in the controller table"},
	}
	r := newElectionReader(Expectation{}, cms)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.Name = "c"
			le := r.container("ops", tc.c)
			assert.Equal(t, tc.want, le.State)
			assert.Equal(t, tc.lease, le.LeaseName)
			assert.Equal(t, tc.ns, le.LeaseNamespace)
			assert.Contains(t, evidence(le), tc.wantEvidence)
		})
	}
}

// TestPrimusServesAPI: a primus container serves the API unless the
// address it listens on is 0, read with the binary's precedence (the
// deprecated --management-api-bind-address replaces --api-bind-address
// when set and non-empty), from flags or from the environment they name.
func TestPrimusServesAPI(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  []corev1.EnvVar
		want bool
	}{
		{name: "default", want: true},
		{name: "an address", args: []string{"--api-bind-address=:8443"}, want: true},
		{name: "off", args: []string{"--api-bind-address=0"}, want: false},
		{name: "off in two arguments", args: []string{"--api-bind-address", "0"}, want: false},
		{name: "off through the environment", args: []string{"--api-bind-address=$(API)"}, env: []corev1.EnvVar{{Name: "API", Value: "0"}}, want: false},
		{name: "the deprecated flag replaces an off API", args: []string{"--api-bind-address=0", "--management-api-bind-address=:8444"}, want: true},
		{name: "the deprecated flag turns it off", args: []string{"--api-bind-address=:8443", "--management-api-bind-address=0"}, want: false},
		{name: "an empty deprecated flag does not replace it", args: []string{"--api-bind-address=0", "--management-api-bind-address="}, want: false},
	}
	r := newElectionReader(Expectation{}, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			le := r.container("ops", corev1.Container{Name: "primus", Image: "ghcr.io/primus-dev/primus:v1", Args: tc.args, Env: tc.env})
			require.True(t, le.Known)
			assert.Equal(t, tc.want, le.ServesAPI)
			addr := PrimusAPIAddress(tc.args)
			if tc.env == nil {
				assert.Equal(t, tc.want, addr != "0", "PrimusAPIAddress agrees: %q", addr)
			}
		})
	}
}

// TestUserController: a controller declared in the config file decides
// like a built-in one, and wins over it.
func TestUserController(t *testing.T) {
	exp := Expectation{Controllers: []Controller{{Name: "in-house", Image: "example.com/x", LeaderElection: DefaultOn, LeaseName: "x-lock"}},
		Dialects: []Dialect{{Name: "in-house", Enable: []string{"--run-singleton"}}}}
	r := newElectionReader(exp, nil)
	le := r.container("ops", corev1.Container{Name: "c", Image: "example.com/x:1"})
	assert.Equal(t, ElectionOn, le.State)
	assert.Equal(t, "x-lock", le.LeaseName)
	le = r.container("ops", corev1.Container{Name: "c", Image: "example.com/y:1", Args: []string{"--run-singleton=false"}})
	assert.Equal(t, ElectionOff, le.State, "user dialects join the generic reading")
}

// TestBadInputNamesTheField: --set controller.replicaCount=two renders
// replicas: two; that is the user's input, named by object and field.
func TestBadInputNamesTheField(t *testing.T) {
	objs, err := render.Decode("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: c, namespace: ops}\nspec:\n  replicas: two\n")
	require.NoError(t, err)
	_, err = Check(objs, Expectation{})
	require.Error(t, err)
	assert.True(t, render.IsInputError(err))
	assert.Contains(t, err.Error(), "Deployment/ops/c: spec.replicas")
}
