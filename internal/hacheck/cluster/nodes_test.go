package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestFakeNode(t *testing.T) {
	tests := []struct {
		name     string
		i, zones int
		wantName string
		wantZone string
	}{
		{name: "first node, first zone", i: 0, zones: 3, wantName: "kwok-node-0", wantZone: "zone-a"},
		{name: "third node, third zone", i: 2, zones: 3, wantName: "kwok-node-2", wantZone: "zone-c"},
		{name: "fourth node wraps around", i: 3, zones: 3, wantName: "kwok-node-3", wantZone: "zone-a"},
		{name: "single zone", i: 5, zones: 1, wantName: "kwok-node-5", wantZone: "zone-a"},
		{name: "two zones", i: 5, zones: 2, wantName: "kwok-node-5", wantZone: "zone-b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := fakeNode(tc.i, tc.zones, "198.18.3.0/24")
			assert.Equal(t, tc.wantName, n.Name)
			assert.Equal(t, "fake", n.Annotations[KwokNodeAnnotation], "kwok manages nodes with this annotation")
			assert.Equal(t, "kwok", n.Labels["type"])
			assert.Equal(t, []string{"198.18.3.0/24"}, n.Spec.PodCIDRs, "kwok takes the node's Pod IPs from here")
			assert.Equal(t, tc.wantName, n.Labels[corev1.LabelHostname])
			assert.Equal(t, tc.wantZone, n.Labels[corev1.LabelTopologyZone])
			assert.Equal(t, "linux", n.Labels[corev1.LabelOSStable])
			assert.Empty(t, n.Spec.Taints, "pods must schedule without tolerations")
			assert.False(t, n.Spec.Unschedulable)
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods} {
				q := n.Status.Allocatable[r]
				assert.Positive(t, q.Cmp(resource.MustParse("16")), "allocatable %s = %s", r, q.String())
			}
			assert.Equal(t, n.Status.Allocatable, n.Status.Capacity)
		})
	}
}

func TestNodeReady(t *testing.T) {
	tests := []struct {
		name       string
		conditions []corev1.NodeCondition
		want       bool
	}{
		{name: "no conditions yet"},
		{name: "ready", conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}, want: true},
		{name: "not ready", conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionFalse}}},
		{name: "other conditions only", conditions: []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionTrue}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, nodeReady(&corev1.Node{Status: corev1.NodeStatus{Conditions: tc.conditions}}))
		})
	}
}
