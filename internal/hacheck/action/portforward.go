package action

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	streamhttp "k8s.io/streaming/pkg/httpstream"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/hacheck/invariants"
	"github.com/primus-dev/primus/internal/hacheck/replica"
	"github.com/primus-dev/primus/internal/hacheck/verify"
)

// forwarder reaches the replica processes of a cluster with real kubelets
// through the API server's port-forward, as `kubectl port-forward` does:
// local 127.0.0.1 ports to each Pod's api and metrics container ports.
// Pods on kwok nodes run nothing, and a port-forward to them would only
// send the API server to a node address that serves nothing: they are
// refused up front.
type forwarder struct {
	cfg  *rest.Config
	kube kubernetes.Interface
	d    *appsv1.Deployment

	mu    sync.Mutex
	stops []chan struct{}
}

// portForwards returns the Replicas of d's Pods on c, reached through
// port-forwards. Close stops them.
func portForwards(c *cluster.Cluster, d *appsv1.Deployment) *forwarder {
	return &forwarder{cfg: c.RESTConfig(), kube: c.Clientset(), d: d}
}

// For port-forwards to Pod name's api and metrics ports.
func (f *forwarder) For(ctx context.Context, name string) (verify.ReplicaClient, error) {
	pod, err := f.kube.CoreV1().Pods(f.d.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	if pod.Spec.NodeName != "" {
		n, err := f.kube.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{})
		if err == nil && n.Annotations[cluster.KwokNodeAnnotation] != "" {
			return nil, fmt.Errorf("Pod %s is on kwok node %s: no process runs behind it", name, n.Name)
		}
	}
	api, metrics, err := replicaPorts(pod)
	if err != nil {
		return nil, err
	}
	if api == 0 {
		// The API is off (--api-bind-address=0): only the metrics answer.
		local, err := f.forward(ctx, pod, metrics)
		if err != nil {
			return nil, fmt.Errorf("port-forward to Pod %s: %w", name, err)
		}
		return replica.Remote(name, "", "", fmt.Sprintf("http://127.0.0.1:%d", local[0])), nil
	}
	local, err := f.forward(ctx, pod, api, metrics)
	if err != nil {
		return nil, fmt.Errorf("port-forward to Pod %s: %w", name, err)
	}
	return replica.Remote(name, fmt.Sprintf("https://127.0.0.1:%d", local[0]), "", fmt.Sprintf("http://127.0.0.1:%d", local[1])), nil
}

// Token is a short-lived token of the release's ServiceAccount.
func (f *forwarder) Token(ctx context.Context) (string, error) {
	return serviceAccountToken(ctx, f.kube, f.d.Namespace, invariants.ServiceAccountOf(f.d))
}

// Close stops every port-forward.
func (f *forwarder) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.stops {
		close(s)
	}
	f.stops = nil
}

// replicaPorts are the container ports named api and metrics of the
// workload's container; api is 0 when the chart turns the API off.
func replicaPorts(pod *corev1.Pod) (api, metrics int32, err error) {
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			switch p.Name {
			case "api":
				api = p.ContainerPort
			case "metrics":
				metrics = p.ContainerPort
			}
		}
	}
	if metrics == 0 {
		return 0, 0, fmt.Errorf("Pod %s has no container port named metrics", pod.Name)
	}
	return api, metrics, nil
}

// forward starts a port-forward of pod's ports to free local ports and
// returns them once it is ready.
func (f *forwarder) forward(ctx context.Context, pod *corev1.Pod, ports ...int32) ([]uint16, error) {
	url := f.kube.CoreV1().RESTClient().Post().Resource("pods").Namespace(pod.Namespace).Name(pod.Name).SubResource("portforward").URL()
	transport, upgrader, err := spdy.RoundTripperFor(f.cfg)
	if err != nil {
		return nil, err
	}
	var dialer streamhttp.Dialer = spdy.NewDialerForStreaming(upgrader, &http.Client{Transport: transport}, http.MethodPost, url)
	tunnel, err := portforward.NewSPDYOverWebsocketDialerForStreaming(url, f.cfg)
	if err != nil {
		return nil, err
	}
	dialer = portforward.NewFallbackDialerForStreaming(tunnel, dialer, func(err error) bool {
		return streamhttp.IsUpgradeFailure(err) || streamhttp.IsHTTPSProxyError(err)
	})
	var specs []string
	for _, p := range ports {
		specs = append(specs, "0:"+strconv.Itoa(int(p)))
	}
	stop, ready := make(chan struct{}), make(chan struct{})
	fw, err := portforward.NewOnAddressesForStreaming(dialer, []string{"127.0.0.1"}, specs, stop, ready, io.Discard, io.Discard)
	if err != nil {
		return nil, err
	}
	errc := make(chan error, 1)
	go func() { errc <- fw.ForwardPorts() }()
	select {
	case <-ready:
	case err := <-errc:
		return nil, err
	case <-ctx.Done():
		close(stop)
		return nil, ctx.Err()
	case <-time.After(30 * time.Second):
		close(stop)
		return nil, fmt.Errorf("not ready after 30s")
	}
	f.mu.Lock()
	f.stops = append(f.stops, stop)
	f.mu.Unlock()
	got, err := fw.GetPorts()
	if err != nil {
		return nil, err
	}
	var local []uint16
	for _, p := range got {
		local = append(local, p.Local)
	}
	return local, nil
}
