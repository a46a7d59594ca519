//go:build unix

package platform

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/primus-dev/primus/internal/hacheck/render"
	"github.com/primus-dev/primus/internal/hacheck/replica"
)

// release is the Helm release name the suite renders the chart with.
const release = "primus"

// testTimings are the fast lease timings the suite runs with.
var testTimings = []string{
	"leaderElection.leaseDuration=4s", "leaderElection.renewDeadline=3s", "leaderElection.retryPeriod=1s",
}

// chartPath is charts/primus, found from this file.
func chartPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "charts", "primus")
}

// install renders the chart for namespace ns with set and installs its
// CRD, ServiceAccount, RBAC, Lease and FlowSchema; everything is removed
// at cleanup.
func install(t *testing.T, ns string, set []string) *replica.Installation {
	t.Helper()
	return installChart(t, chartPath(), ns, set)
}

// installChart is install of the chart at path chart.
func installChart(t *testing.T, chart, ns string, set []string) *replica.Installation {
	t.Helper()
	inst, err := replica.Install(t.Context(), testCluster.RESTConfig(), replica.InstallOptions{
		Render: render.Options{Chart: chart, ReleaseName: release, Namespace: ns, Set: set},
	})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := inst.Close(ctx); err != nil {
			t.Logf("uninstall: %v", err)
		}
	})
	return inst
}

// startSet returns an empty Set running the installation's Deployment as
// the chart's ServiceAccount. Its replicas are killed at cleanup, and
// their logs printed if the test failed.
func startSet(t *testing.T, inst *replica.Installation, prefix string) *replica.Set {
	t.Helper()
	dir := t.TempDir()
	kubeconfig, err := inst.WriteKubeconfig(t.Context(), dir, time.Hour)
	require.NoError(t, err)
	cfg, err := inst.ReplicaConfig(primusBin, kubeconfig, dir)
	require.NoError(t, err)
	set := replica.NewSet(cfg, prefix)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := set.Close(ctx); err != nil {
			t.Logf("stop replicas: %v", err)
		}
		if t.Failed() {
			for _, r := range set.All() {
				t.Logf("--- log of %s (last 60 lines) ---\n%s", r.Name, r.Tail(60))
			}
		}
	})
	return set
}

// cleanupProjects removes every Project, finalizers included, at cleanup,
// so that a failed run leaves nothing that blocks the next one.
func cleanupProjects(t *testing.T, inst *replica.Installation) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		list, err := inst.Projects(ctx)
		if err != nil {
			return
		}
		var names []string
		for _, p := range list {
			names = append(names, p.Name)
		}
		if err := inst.DeleteProjects(ctx, names); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
}

// createPods creates a stand-in Pod per replica name, so the leader's
// pod-deletion-cost patch has a target (kwok fakes the Pods' status).
func createPods(ctx context.Context, t *testing.T, kube kubernetes.Interface, ns string, names []string) {
	t.Helper()
	for _, name := range names {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app.kubernetes.io/name": "primus"}},
			Spec: corev1.PodSpec{
				Containers:  []corev1.Container{{Name: "primus", Image: "primus:test"}},
				Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			},
		}
		_, err := kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		require.NoError(t, err)
	}
}

// deletionCost returns the pod-deletion-cost annotation of Pod ns/name.
func deletionCost(ctx context.Context, kube kubernetes.Interface, ns, name string) (string, error) {
	pod, err := kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	return pod.Annotations["controller.kubernetes.io/pod-deletion-cost"], nil
}

// logLinesWith returns the decoded log lines of r whose msg is msg.
func logLinesWith(t *testing.T, r *replica.Replica, msg string) []replica.LogLine {
	t.Helper()
	lines, err := r.Log()
	require.NoError(t, err)
	var out []replica.LogLine
	for _, l := range lines {
		if l.Msg == msg {
			out = append(out, l)
		}
	}
	return out
}

// grepLog returns the raw lines of r's log that contain substr,
// case-insensitively.
func grepLog(t *testing.T, r *replica.Replica, substr string) []string {
	t.Helper()
	raw, err := os.ReadFile(r.LogPath)
	require.NoError(t, err)
	var out []string
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.Contains(strings.ToLower(line), strings.ToLower(substr)) {
			out = append(out, line)
		}
	}
	return out
}
