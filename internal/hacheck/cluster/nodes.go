package cluster

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/primus-dev/primus/internal/hacheck/podnet"
)

// Labels and annotations of the fake nodes.
const (
	// KwokNodeAnnotation marks a Node as simulated by kwok.
	KwokNodeAnnotation = "kwok.x-k8s.io/node"
	// ZoneLabel is the well-known topology label the nodes are spread over.
	ZoneLabel = corev1.LabelTopologyZone
	// HostnameLabel is the well-known per-node topology label.
	HostnameLabel = corev1.LabelHostname
)

// nodeName is the name of the i-th fake node.
func nodeName(i int) string {
	return fmt.Sprintf("kwok-node-%d", i)
}

// zoneName returns the zone of the i-th node among zones zones: "zone-a",
// "zone-b", … round robin.
func zoneName(i, zones int) string {
	if zones < 1 {
		zones = 1
	}
	return "zone-" + string(rune('a'+i%zones))
}

// fakeNode returns the i-th kwok node, after kwok's own node template
// (kustomize/kwokctl/resource/node.yaml): kwok manages it because of the
// kwok.x-k8s.io/node annotation and makes it Ready. Its allocatable
// resources are far above anything a test schedules. It has no taint: every
// node of this cluster is fake, so pods need no toleration.
func fakeNode(i, zones int, podCIDR string) *corev1.Node {
	name := nodeName(i)
	resources := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Annotations: map[string]string{
				KwokNodeAnnotation:             "fake",
				"node.alpha.kubernetes.io/ttl": "0",
			},
			Labels: map[string]string{
				"type":                          "kwok",
				HostnameLabel:                   name,
				ZoneLabel:                       zoneName(i, zones),
				corev1.LabelTopologyRegion:      "region-a",
				corev1.LabelOSStable:            "linux",
				corev1.LabelArchStable:          "amd64",
				"node-role.kubernetes.io/agent": "",
				"kubernetes.io/role":            "agent",
				"beta.kubernetes.io/os":         "linux",
				"beta.kubernetes.io/arch":       "amd64",
			},
		},
		Spec: corev1.NodeSpec{
			PodCIDR:  podCIDR,
			PodCIDRs: []string{podCIDR},
		},
		Status: corev1.NodeStatus{
			Allocatable: resources,
			Capacity:    resources.DeepCopy(),
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("10.0.%d.%d", i/250, i%250+2)},
				{Type: corev1.NodeHostName, Address: name},
			},
			NodeInfo: corev1.NodeSystemInfo{
				Architecture:    "amd64",
				OperatingSystem: "linux",
				KubeletVersion:  KubernetesVersion,
			},
		},
	}
}

// createNodes creates fake nodes first..first+n-1, node i with the Pod
// CIDR podCIDR(i) (where kwok takes its Pods' IPs from), and returns their
// names.
func createNodes(ctx context.Context, cs kubernetes.Interface, first, n, zones int, podCIDR func(int) string) ([]string, error) {
	names := make([]string, 0, n)
	for i := first; i < first+n; i++ {
		node := fakeNode(i, zones, podCIDR(i))
		if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return names, fmt.Errorf("create node %s: %w", node.Name, err)
		}
		names = append(names, node.Name)
	}
	return names, nil
}

// nodeReady reports whether the node's Ready condition is True.
func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitNodesReady polls until every named node is Ready.
func waitNodesReady(ctx context.Context, cs kubernetes.Interface, names []string, timeout time.Duration) error {
	var notReady []string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil // the API server may be settling; retry
		}
		ready := map[string]bool{}
		for i := range list.Items {
			ready[list.Items[i].Name] = nodeReady(&list.Items[i])
		}
		notReady = slices.DeleteFunc(slices.Clone(names), func(n string) bool { return ready[n] })
		return len(notReady) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("wait for nodes %v to be Ready: %w", notReady, err)
	}
	return nil
}

// AddNode creates one more fake node, in the next zone of the round robin,
// waits until it is Ready and returns its name. It works on clusters
// started by Start only.
func (c *Cluster) AddNode(ctx context.Context) (string, error) {
	if c.workdir == "" {
		return "", fmt.Errorf("add node: cluster %s was not started by this package", c.name)
	}
	c.mu.Lock()
	i := len(c.nodes)
	c.mu.Unlock()
	if c.subnet != nil && i >= podnet.NodesPerSubnet {
		return "", fmt.Errorf("add node: a cluster with a pod network has at most %d nodes", podnet.NodesPerSubnet)
	}
	names, err := createNodes(ctx, c.clientset, i, 1, c.zones, c.nodePodCIDR)
	if err != nil {
		return "", err
	}
	if err := waitNodesReady(ctx, c.clientset, names, time.Minute); err != nil {
		return "", err
	}
	c.mu.Lock()
	c.nodes = append(c.nodes, names...)
	c.mu.Unlock()
	return names[0], nil
}

// CordonNode marks the node unschedulable, as `kubectl cordon` does.
func (c *Cluster) CordonNode(ctx context.Context, name string) error {
	patch := []byte(`{"spec":{"unschedulable":true}}`)
	if _, err := c.clientset.CoreV1().Nodes().Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("cordon node %s: %w", name, err)
	}
	return nil
}
