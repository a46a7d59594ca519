package invariants

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/primus-dev/primus/internal/hacheck/render"
)

func TestLeaderElectionFlags(t *testing.T) {
	tests := []struct {
		name    string
		command []string
		args    []string
		want    LeaderElection
	}{
		{name: "no flags", args: []string{"--log-level=info"},
			want: LeaderElection{LeaseNamespace: "primus"}},
		{name: "controller-runtime flags",
			args: []string{"--leader-elect=true", "--leader-election-id=primus-leader", "--leader-election-namespace=primus-system",
				"--lease-duration=15s", "--renew-deadline=10s", "--retry-period=2s"},
			want: LeaderElection{Configured: true, Enabled: true, LeaseName: "primus-leader", LeaseNamespace: "primus-system",
				LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second, Container: "primus"}},
		{name: "bare bool flag", args: []string{"--leader-elect", "--leader-election-id=primus-leader"},
			want: LeaderElection{Configured: true, Enabled: true, LeaseName: "primus-leader", LeaseNamespace: "primus", Container: "primus"}},
		{name: "explicitly off", args: []string{"--leader-elect=false", "--leader-election-id=primus-leader"},
			want: LeaderElection{Configured: true, LeaseName: "primus-leader", LeaseNamespace: "primus", Container: "primus"}},
		{name: "bool spelled as strconv.ParseBool accepts it", args: []string{"--leader-elect=True", "--leader-election-id=primus-leader"},
			want: LeaderElection{Configured: true, Enabled: true, LeaseName: "primus-leader", LeaseNamespace: "primus", Container: "primus"}},
		{name: "bool flag does not consume the next argument", args: []string{"--leader-elect", "serve", "--leader-election-id=primus-leader"},
			want: LeaderElection{Configured: true, Enabled: true, LeaseName: "primus-leader", LeaseNamespace: "primus", Container: "primus"}},
		{name: "values as separate arguments", args: []string{"--leader-elect", "--leader-election-id", "primus-leader",
			"--leader-election-namespace", "primus-system", "--lease-duration", "30s"},
			want: LeaderElection{Configured: true, Enabled: true, LeaseName: "primus-leader", LeaseNamespace: "primus-system",
				LeaseDuration: 30 * time.Second, Container: "primus"}},
		{name: "kube-controller-manager flags in the command", command: []string{"/manager", "-leader-elect-resource-name=primus-leader",
			"-leader-elect-resource-namespace=primus-system", "-leader-elect-lease-duration=20s"}, args: []string{"--leader-elect"},
			want: LeaderElection{Configured: true, Enabled: true, LeaseName: "primus-leader", LeaseNamespace: "primus-system",
				LeaseDuration: 20 * time.Second, Container: "primus"}},
		{name: "malformed duration is unset", args: []string{"--leader-elect", "--lease-duration=15"},
			want: LeaderElection{Configured: true, Enabled: true, LeaseNamespace: "primus", Container: "primus"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &appsv1.Deployment{
				ObjectMeta: metav1.ObjectMeta{Name: "primus", Namespace: "primus"},
				Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "primus", Command: tc.command, Args: tc.args}},
				}}},
			}
			assert.Equal(t, tc.want, flagsOf(leaderElection(d)))
		})
	}
}

// flagsOf keeps what the flags say, without the verdict's evidence.
func flagsOf(le LeaderElection) LeaderElection {
	return LeaderElection{Configured: le.Configured, Enabled: le.Enabled, LeaseName: le.LeaseName, LeaseNamespace: le.LeaseNamespace,
		LeaseDuration: le.LeaseDuration, RenewDeadline: le.RenewDeadline, RetryPeriod: le.RetryPeriod, Container: containerIf(le)}
}

// containerIf: the old reader named the container only when a flag was there.
func containerIf(le LeaderElection) string {
	if le.Configured {
		return le.Container
	}
	return ""
}

func TestNewManifestDefaultsNamespace(t *testing.T) {
	objs, err := render.Decode(`
apiVersion: apps/v1
kind: Deployment
metadata:
  name: primus
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: primus
---
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata:
  name: primus
spec:
  scaleTargetRef: {kind: Deployment, name: primus}
  maxReplicas: 3
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: primus
`)
	require.NoError(t, err)
	m, err := NewManifest(objs)
	require.NoError(t, err)
	require.Len(t, m.Deployments, 1)
	assert.Equal(t, DefaultNamespace, m.Deployments[0].Namespace)
	require.Len(t, m.ClusterRoles, 1)
	assert.Empty(t, m.ClusterRoles[0].Namespace, "cluster-scoped objects get no namespace")
	require.Len(t, m.HPAs, 1, "an autoscaling/v1 HPA is read as v2")
	assert.Equal(t, DefaultNamespace, m.HPAs[0].Namespace)
}

func TestHPAVersions(t *testing.T) {
	tests := []struct {
		name       string
		apiVersion string
		spec       string
		wantMin    int
		wantMax    int
	}{
		{name: "v1 with minReplicas", apiVersion: "autoscaling/v1", spec: "minReplicas: 2\n  maxReplicas: 5\n  targetCPUUtilizationPercentage: 80", wantMin: 2, wantMax: 5},
		{name: "v1 without minReplicas defaults to 1", apiVersion: "autoscaling/v1", spec: "maxReplicas: 3", wantMin: 1, wantMax: 3},
		{name: "v2", apiVersion: "autoscaling/v2", spec: "minReplicas: 3\n  maxReplicas: 6", wantMin: 3, wantMax: 6},
		{name: "v2beta2", apiVersion: "autoscaling/v2beta2", spec: "minReplicas: 2\n  maxReplicas: 4", wantMin: 2, wantMax: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := render.Decode(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ops}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: example.com/web:1.0}]}
---
apiVersion: ` + tc.apiVersion + `
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: ops}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  ` + tc.spec + "\n")
			require.NoError(t, err)
			m, err := NewManifest(objs)
			require.NoError(t, err)
			require.Len(t, m.Workloads, 1)
			w := m.Workloads[0]
			assert.Equal(t, "HorizontalPodAutoscaler/ops/web", w.ScaledBy)
			assert.Equal(t, tc.wantMin, w.Replicas)
			assert.Equal(t, tc.wantMax, w.MaxReplicas)
		})
	}
}

func TestIgnoredKinds(t *testing.T) {
	objs, err := render.Decode(`apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs, namespace: ops}
---
apiVersion: v1
kind: Pod
metadata: {name: once, namespace: ops}
---
apiVersion: v1
kind: ReplicationController
metadata: {name: rc, namespace: ops}
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: ops}
---
apiVersion: v1
kind: Pod
metadata: {name: smoke, namespace: ops, annotations: {helm.sh/hook: test}}
`)
	require.NoError(t, err)
	m, err := NewManifest(objs)
	require.NoError(t, err)
	assert.Empty(t, m.Workloads)
	require.Len(t, m.Ignored, 5)
	assert.Contains(t, m.Ignored[0], "ReplicaSet/ops/rs: a ReplicaSet outside a Deployment is not modelled")
	assert.Contains(t, m.Ignored[1], "Pod/ops/once: a bare Pod is not modelled")
	assert.Contains(t, m.Ignored[2], "ReplicationController/ops/rc: a ReplicationController is not modelled")
	assert.Contains(t, m.Ignored[3], "Job/ops/migrate: a Job runs to completion")
	assert.Contains(t, m.Ignored[4], "Pod/ops/smoke: a Helm test hook (helm.sh/hook: test) runs only under helm test")
}

// TestCheckIsDeterministic: findings come out in the same order every run,
// also several of one rule on one object.
func TestCheckIsDeterministic(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "probes", "fail-4.yaml"))
	require.NoError(t, err)
	objs, err := render.Decode(string(b))
	require.NoError(t, err)
	first, err := Check(objs, Expectation{})
	require.NoError(t, err)
	var probes []string
	for _, f := range ofRule(first, "probes") {
		probes = append(probes, f.Message)
	}
	assert.Equal(t, []string{
		"container primus readiness probe depends on leadership: non-leaders would be removed from the Service",
		"container primus liveness probe depends on leadership: non-leaders would be restarted",
		"container primus startup probe depends on leadership: non-leaders would be restarted",
	}, probes)
	for range 20 {
		again, err := Check(objs, Expectation{})
		require.NoError(t, err)
		require.Equal(t, first, again)
	}
}
