package repository

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gruntwork-io/terratest/modules/helm"
	"github.com/gruntwork-io/terratest/modules/k8s"
	"github.com/gruntwork-io/terratest/modules/logger"
	"github.com/gruntwork-io/terratest/modules/random"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/primus-dev/primus/internal/hacheck/render"
	"github.com/primus-dev/primus/internal/hacheck/verify"
)

// release is the Helm release "primus" under test, in a namespace of its
// own that `--create-namespace` creates.
type release struct {
	t         *testing.T
	name      string
	namespace string
	options   *helm.Options
	client    kubernetes.Interface
}

// newRelease names a fresh namespace for one test case and registers its
// cleanup: helm uninstall, then namespace deletion.
func newRelease(t *testing.T) *release {
	t.Helper()
	ns := "primus-system-" + strings.ToLower(random.UniqueId())
	kubectl := k8s.NewKubectlOptions("", testCluster.Kubeconfig(), ns)
	kubectl.Logger = logger.Discard
	r := &release{
		t: t, name: "primus", namespace: ns,
		options: &helm.Options{KubectlOptions: kubectl, Logger: logger.Discard},
		client:  testCluster.Clientset(),
	}
	t.Cleanup(func() {
		_, _ = helm.RunHelmCommandAndGetOutputE(t, r.options, "uninstall", r.name, "--namespace", ns, "--wait")
		_ = r.client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	return r
}

// helm runs `helm ARGS... --namespace NS`, the way a user types it (the
// suite adds only --kubeconfig), and logs the command.
func (r *release) helm(args ...string) (string, error) {
	r.t.Helper()
	args = append(args, "--namespace", r.namespace)
	r.t.Logf("helm %s", strings.Join(args, " "))
	return helm.RunHelmCommandAndGetOutputE(r.t, r.options, args[0], args[1:]...)
}

// mustHelm is helm that fails the test on an error.
func (r *release) mustHelm(args ...string) string {
	r.t.Helper()
	out, err := r.helm(args...)
	require.NoError(r.t, err, "helm %s:\n%s", strings.Join(args, " "), out)
	return out
}

// revision is one revision of the release, from `helm history -o json`.
type revision struct {
	Revision int    `json:"revision"`
	Status   string `json:"status"`
	Chart    string `json:"chart"`
}

// history is `helm history`: "REVISION STATUS CHART" per revision, oldest
// first.
func (r *release) history() []string {
	r.t.Helper()
	out, err := helm.RunHelmCommandAndGetStdOutE(r.t, r.options, "history", r.name, "--namespace", r.namespace, "-o", "json")
	require.NoError(r.t, err)
	var revisions []revision
	require.NoError(r.t, json.Unmarshal([]byte(out), &revisions))
	var lines []string
	for _, rev := range revisions {
		lines = append(lines, fmt.Sprintf("%d %s %s", rev.Revision, rev.Status, rev.Chart))
	}
	return lines
}

// values are the release's computed values (`helm get values --all`):
// what its templates were rendered with.
func (r *release) values() map[string]any {
	r.t.Helper()
	out, err := helm.RunHelmCommandAndGetStdOutE(r.t, r.options, "get", "values", r.name, "--namespace", r.namespace, "--all", "-o", "json")
	require.NoError(r.t, err)
	vals := map[string]any{}
	require.NoError(r.t, json.Unmarshal([]byte(out), &vals))
	return vals
}

// deployment is the release's live Deployment.
func (r *release) deployment() *appsv1.Deployment {
	r.t.Helper()
	d, err := r.client.AppsV1().Deployments(r.namespace).Get(context.Background(), r.name, metav1.GetOptions{})
	require.NoError(r.t, err)
	return d
}

// waitRollout waits until the Deployment has n updated, Ready replicas and
// no others, and returns its pods.
func (r *release) waitRollout(n int) []corev1.Pod {
	r.t.Helper()
	var pods []corev1.Pod
	var d *appsv1.Deployment
	ok := assert.Eventually(r.t, func() bool {
		var err error
		if d, err = r.client.AppsV1().Deployments(r.namespace).Get(context.Background(), r.name, metav1.GetOptions{}); err != nil {
			return false
		}
		pods = r.pods()
		return rolledOut(d, n) && len(pods) == n && len(readyPods(pods)) == n
	}, 2*time.Minute, 500*time.Millisecond)
	if !ok {
		r.t.Fatalf("deployment %s/%s did not roll out to %d Ready replicas: status %+v, pods %s", r.namespace, r.name, n, d.Status, describe(pods))
	}
	return pods
}

// pods lists the release's pods, as `kubectl get po -n NS` shows them,
// leaving out those being deleted.
func (r *release) pods() []corev1.Pod {
	list, err := r.client.CoreV1().Pods(r.namespace).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=" + r.name})
	if err != nil {
		return nil
	}
	var live []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			live = append(live, p)
		}
	}
	return live
}

func rolledOut(d *appsv1.Deployment, n int) bool {
	return d.Status.ObservedGeneration >= d.Generation && d.Spec.Replicas != nil && int(*d.Spec.Replicas) == n &&
		int(d.Status.UpdatedReplicas) == n && int(d.Status.ReadyReplicas) == n && int(d.Status.Replicas) == n
}

func readyPods(pods []corev1.Pod) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range pods {
		for _, c := range p.Status.Conditions {
			if p.Status.Phase == corev1.PodRunning && c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				out = append(out, p)
			}
		}
	}
	return out
}

func describe(pods []corev1.Pod) string {
	var b strings.Builder
	for _, p := range pods {
		fmt.Fprintf(&b, "\n  %s %s node=%q", p.Name, p.Status.Phase, p.Spec.NodeName)
	}
	return b.String()
}

// waitPDB waits until the disruption controller reports the release's
// PodDisruptionBudget allowing want disruptions. The budget must exist
// already: helm created it before returning.
func (r *release) waitPDB(want int32) *policyv1.PodDisruptionBudget {
	r.t.Helper()
	ctx := context.Background()
	pdb, err := r.client.PolicyV1().PodDisruptionBudgets(r.namespace).Get(ctx, r.name, metav1.GetOptions{})
	require.NoError(r.t, err, "the release has a PodDisruptionBudget")
	require.Eventually(r.t, func() bool {
		pdb, err = r.client.PolicyV1().PodDisruptionBudgets(r.namespace).Get(ctx, r.name, metav1.GetOptions{})
		return err == nil && pdb.Status.ObservedGeneration == pdb.Generation && pdb.Status.DisruptionsAllowed == want
	}, time.Minute, 250*time.Millisecond, "PodDisruptionBudget never allowed %d disruption(s)", want)
	return pdb
}

// verifyLive checks the live HA invariants of `hacheck verify` on the
// installed release (its manifest from `helm get manifest`) and returns the
// checks that ran, by id.
func (r *release) verifyLive() map[string]verify.Check {
	r.t.Helper()
	manifest, err := helm.RunHelmCommandAndGetStdOutE(r.t, r.options, "get", "manifest", r.name, "--namespace", r.namespace)
	require.NoError(r.t, err)
	objs, err := render.Decode(manifest)
	require.NoError(r.t, err)
	report, err := verify.Verify(context.Background(), r.client, objs)
	require.NoError(r.t, err)
	require.True(r.t, report.Passed(), "live HA invariants failed: %+v\npods: %+v", report.Failed(), report.Pods)
	checks := map[string]verify.Check{}
	for _, c := range report.Checks {
		checks[c.ID] = c
	}
	return checks
}
