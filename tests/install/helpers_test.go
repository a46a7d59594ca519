package install

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gruntwork-io/terratest/modules/helm"
	"github.com/gruntwork-io/terratest/modules/k8s"
	"github.com/gruntwork-io/terratest/modules/logger"
	"github.com/gruntwork-io/terratest/modules/random"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/primus-dev/primus/internal/testharness/clustertest"
)

// release is one Helm release under test in its own namespace.
type release struct {
	t         *testing.T
	name      string
	namespace string
	kubectl   *k8s.KubectlOptions
	client    kubernetes.Interface
}

// newRelease creates a namespace (with labels, if any) for one test and
// registers its cleanup: helm uninstall, then namespace deletion.
func newRelease(t *testing.T, nsLabels map[string]string) *release {
	t.Helper()
	clustertest.Require(t, testCluster)
	ns := fmt.Sprintf("primus-%s", strings.ToLower(random.UniqueId()))
	r := &release{
		t: t, name: "primus", namespace: ns,
		kubectl: k8s.NewKubectlOptions("", testCluster.Kubeconfig(), ns),
		client:  testCluster.Clientset(),
	}
	r.kubectl.Logger = logger.Discard
	k8s.CreateNamespaceWithMetadata(t, r.kubectl, metav1.ObjectMeta{Name: ns, Labels: nsLabels})
	t.Cleanup(func() {
		_ = helm.DeleteE(t, r.helmOptions(nil), r.name, true)
		_ = r.client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	return r
}

// helmOptions are terratest helm options for this release with --set values.
func (r *release) helmOptions(set map[string]string, extra ...string) *helm.Options {
	return &helm.Options{
		KubectlOptions: r.kubectl,
		SetValues:      set,
		Logger:         logger.Discard,
		ExtraArgs:      map[string][]string{"upgrade": extra, "install": extra},
	}
}

// install runs `helm install` with --set values.
func (r *release) install(set map[string]string) {
	r.t.Helper()
	helm.Install(r.t, r.helmOptions(set), chartPath(), r.name)
}

// upgradeReuse runs the user's upgrade: `helm upgrade --reuse-values --set ...`.
func (r *release) upgradeReuse(set map[string]string) error {
	r.t.Helper()
	return helm.UpgradeE(r.t, r.helmOptions(set, "--reuse-values"), chartPath(), r.name)
}

// revision is the deployed revision, from `helm status -o json`.
func (r *release) status() (revision int, status string) {
	r.t.Helper()
	out, err := helm.RunHelmCommandAndGetStdOutE(r.t, r.helmOptions(nil), "status", r.name, "-o", "json")
	require.NoError(r.t, err)
	var s struct {
		Version int `json:"version"`
		Info    struct {
			Status string `json:"status"`
		} `json:"info"`
	}
	require.NoError(r.t, json.Unmarshal([]byte(out), &s))
	return s.Version, s.Info.Status
}

// pods lists the release's pods, as `kubectl get po -n NS` shows them.
func (r *release) pods() []corev1.Pod {
	r.t.Helper()
	pods := k8s.ListPods(r.t, r.kubectl, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=" + r.name})
	var live []corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil {
			live = append(live, p)
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].Name < live[j].Name })
	return live
}

func runningReady(pods []corev1.Pod) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range pods {
		if p.Status.Phase != corev1.PodRunning {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				out = append(out, p)
			}
		}
	}
	return out
}

// waitRollout waits until the Deployment has n updated, ready replicas and
// no others, and returns its Running and Ready pods.
func (r *release) waitRollout(n int) []corev1.Pod {
	r.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		d, err := r.client.AppsV1().Deployments(r.namespace).Get(context.Background(), r.name, metav1.GetOptions{})
		require.NoError(r.t, err)
		pods := r.pods()
		if rolledOut(d, n) && len(pods) == n && len(runningReady(pods)) == n {
			return pods
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("deployment %s/%s did not roll out to %d ready replicas: status %+v, pods %s", r.namespace, r.name, n, d.Status, describe(pods))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func rolledOut(d *appsv1.Deployment, n int) bool {
	return d.Status.ObservedGeneration >= d.Generation && d.Spec.Replicas != nil && int(*d.Spec.Replicas) == n &&
		int(d.Status.UpdatedReplicas) == n && int(d.Status.ReadyReplicas) == n && int(d.Status.Replicas) == n
}

// describe prints pods the way `kubectl get po -o wide` does, for failures.
func describe(pods []corev1.Pod) string {
	var b strings.Builder
	for _, p := range pods {
		fmt.Fprintf(&b, "\n  %s %s node=%q", p.Name, p.Status.Phase, p.Spec.NodeName)
	}
	return b.String()
}

func nodesOf(pods []corev1.Pod) map[string]bool {
	nodes := map[string]bool{}
	for _, p := range pods {
		nodes[p.Spec.NodeName] = true
	}
	return nodes
}
