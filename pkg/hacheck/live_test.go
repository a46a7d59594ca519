package hacheck_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/primus-dev/primus/internal/hacheck/render"
	"github.com/primus-dev/primus/pkg/hacheck"
)

// cluster is a fake API server holding an installed three-replica release.
type cluster struct {
	deployment *appsv1.Deployment
	pendingPod bool
	// grantAll makes the authorizer allow everything, as a cluster-admin
	// binding would.
	grantAll bool
	// namespace is where the release is installed; empty is "default".
	namespace string
}

func (c cluster) client(t *testing.T, manifest string) *fake.Clientset {
	t.Helper()
	ns := c.namespace
	if ns == "" {
		ns = "default"
	}
	objs, err := render.Decode(manifest)
	require.NoError(t, err)
	var live []runtime.Object
	for _, o := range objs {
		switch o.GetKind() {
		case "Deployment":
			d := &appsv1.Deployment{}
			require.NoError(t, o.Into(d))
			d.Namespace = ns
			c.deployment = d
			live = append(live, d)
		case "PodDisruptionBudget":
			p := &policyv1.PodDisruptionBudget{}
			require.NoError(t, o.Into(p))
			p.Namespace = ns
			p.Status = policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1, CurrentHealthy: 3, ExpectedPods: 3}
			live = append(live, p)
		case "Lease":
			l := &coordinationv1.Lease{}
			require.NoError(t, o.Into(l))
			l.Namespace = ns
			live = append(live, l)
		}
	}
	require.NotNil(t, c.deployment)
	for i := range 3 {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("n%d", i), Labels: map[string]string{corev1.LabelTopologyZone: fmt.Sprintf("zone-%d", i)}}}
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("primus-%d", i), Namespace: ns, Labels: c.deployment.Spec.Template.Labels},
			Spec:       corev1.PodSpec{NodeName: node.Name},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
				{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
		}
		if c.pendingPod && i == 2 {
			pod.Spec.NodeName = ""
			pod.Status = corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/3 nodes are available"}}}
		}
		live = append(live, node, pod)
	}
	client := fake.NewClientset(live...)
	client.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		sar := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview)
		attr := sar.Spec.ResourceAttributes
		own := attr.Resource == "leases" && attr.Namespace == ns && (attr.Name == "release-name-primus-leader" || (attr.Verb == "create" && attr.Name == ""))
		sar.Status.Allowed = c.grantAll || own
		return true, sar, nil
	})
	return client
}

func TestVerifyRelease(t *testing.T) {
	manifest, err := hacheck.Render(hacheck.ChartOptions{Chart: primusChart, Set: []string{"replicaCount=3"}})
	require.NoError(t, err)
	cases := []struct {
		name      string
		cluster   cluster
		wantRules []string
	}{
		{name: "installed and spread", wantRules: []string{}},
		{name: "a replica cannot schedule", cluster: cluster{pendingPod: true}, wantRules: []string{"replicas-ready"}},
		{name: "cluster-wide grants", cluster: cluster{grantAll: true}, wantRules: []string{"rbac", "rbac", "rbac", "rbac"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := hacheck.VerifyRelease(context.Background(), tc.cluster.client(t, manifest), manifest)
			require.NoError(t, err)
			assert.Equal(t, tc.wantRules, rules(fs), "%v", fs)
			for _, f := range fs {
				assert.Equal(t, "Deployment/default/release-name-primus", f.Object)
			}
		})
	}
}

// TestVerifyReleaseOfNamespacelessObjects: a chart that renders its
// objects without a namespace, installed with helm install -n ops, has
// them in ops; with WithNamespace("ops") VerifyRelease reads them there.
// Without it, it reads them in "default", where there is no such
// Deployment: an error, not a verdict.
func TestVerifyReleaseOfNamespacelessObjects(t *testing.T) {
	rendered, err := hacheck.Render(hacheck.ChartOptions{Chart: primusChart, Namespace: "ops", Set: []string{"replicaCount=3"}})
	require.NoError(t, err)
	manifest := withoutNamespaces(t, rendered)
	client := cluster{namespace: "ops"}.client(t, manifest)

	fs, err := hacheck.VerifyRelease(context.Background(), client, manifest, hacheck.WithNamespace("ops"))
	require.NoError(t, err)
	assert.Empty(t, fs, "the release in ops is installed and spread")

	_, err = hacheck.VerifyRelease(context.Background(), client, manifest)
	require.ErrorContains(t, err, "default/release-name-primus", "read in default without WithNamespace")
}

// withoutNamespaces is manifest with metadata.namespace dropped from every
// object, as a chart that leaves the namespace to Helm renders it.
func withoutNamespaces(t *testing.T, manifest string) string {
	t.Helper()
	objs, err := render.Decode(manifest)
	require.NoError(t, err)
	var docs []string
	for _, o := range objs {
		o.SetNamespace("")
		raw, err := yaml.Marshal(o.Object)
		require.NoError(t, err)
		docs = append(docs, string(raw))
	}
	return strings.Join(docs, "---\n")
}

func TestVerifyReleaseWithoutWorkload(t *testing.T) {
	_, err := hacheck.VerifyRelease(context.Background(), fake.NewClientset(), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
	require.ErrorContains(t, err, "no Deployment")
}
