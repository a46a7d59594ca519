//go:build unix

package podrunner

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/primus-dev/primus/internal/hacheck/podnet"
	"github.com/primus-dev/primus/internal/hacheck/replica"
)

// ReplicaStarter is the default Starter: it runs a built cmd/primus for a
// Pod with internal/replicas, the way the Pod's container would run: the
// container's arguments (so the chart's values drive leader election), its
// literal and metadata environment (POD_NAME, POD_NAMESPACE,
// HELM_RELEASE_NAME, ...), its Secret and ConfigMap volumes, free 127.0.0.1 ports (or
// its Pod IP in a network namespace, see Network), and a kubeconfig with a
// token of the Pod's ServiceAccount, so the process has exactly the RBAC
// the chart gives the Pod. Its processes name their image (ImageID) by the
// digest of the image built from Binary.
type ReplicaStarter struct {
	// Binary is the path of a built cmd/primus (replica.Build).
	Binary string
	// Kube requests the ServiceAccount tokens (TokenRequest).
	Kube kubernetes.Interface
	// Config is where the processes reach the API server: its host and CA
	// go into their kubeconfigs, never its credentials.
	Config *rest.Config
	// Dir receives, per process, a directory with its kubeconfig and log.
	Dir string
	// TokenTTL is the lifetime of the tokens. Default 1 hour.
	TokenTTL time.Duration
	// Network, when set, runs each process in a network namespace of its
	// own with its Pod's IP (cluster.Cluster.PodNetwork), listening on
	// that IP at the container's ports, as in a Pod: the Service's
	// endpoints and an APIService reach it. Nil runs every process on this
	// machine's loopback, with ports the kernel picks.
	Network Network
}

// Network gives Pods their addresses (cluster.PodNetwork).
type Network interface {
	// Sandbox creates the network namespace of a Pod with IP podIP.
	Sandbox(podIP string) (*podnet.Sandbox, error)
}

// Start starts the process of pod.
func (s *ReplicaStarter) Start(ctx context.Context, pod *corev1.Pod) (Process, error) {
	c := Container(pod)
	if c == nil {
		return nil, fmt.Errorf("pod %s/%s has no container", pod.Namespace, pod.Name)
	}
	// One directory per start: a restarted process does not overwrite the
	// log of the one that exited.
	dir, err := os.MkdirTemp(s.Dir, pod.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("pod %s: %w", pod.Name, err)
	}
	token, err := s.token(ctx, pod)
	if err != nil {
		return nil, err
	}
	kubeconfig := dir + "/kubeconfig"
	if err := replica.WriteTokenKubeconfig(s.Config, token, kubeconfig); err != nil {
		return nil, fmt.Errorf("pod %s: %w", pod.Name, err)
	}
	// The kubelet mounts the Pod's Secret and ConfigMap volumes; the
	// process reads them at their container paths, rewritten to where
	// they are written here.
	mounts, err := mountedVolumes(ctx, s.Kube, pod, c, dir)
	if err != nil {
		return nil, err
	}
	// The kubelet pulls the image before it starts the container: the
	// digest is known first (computed once per binary).
	imageID, imageErr := binaryImageID(c.Image, s.Binary)
	cfg := replica.Config{
		Binary:     s.Binary,
		Kubeconfig: kubeconfig,
		Namespace:  pod.Namespace,
		Args:       withMountedPaths(commandArgs(c), mounts),
		Env:        containerEnv(pod, c),
		Dir:        dir,
	}
	var sandbox *podnet.Sandbox
	if s.Network != nil {
		if pod.Status.PodIP == "" {
			return nil, fmt.Errorf("pod %s: no pod IP yet", pod.Name)
		}
		if sandbox, err = s.Network.Sandbox(pod.Status.PodIP); err != nil {
			return nil, fmt.Errorf("pod %s: %w", pod.Name, err)
		}
		cfg.Host, cfg.StartProcess = pod.Status.PodIP, sandbox.Start
	}
	r, err := replica.Start(ctx, cfg, pod.Name)
	if err != nil {
		if sandbox != nil {
			_ = sandbox.Close()
		}
		return nil, fmt.Errorf("pod %s: %w", pod.Name, err)
	}
	if sandbox != nil {
		// The namespace goes when its process has exited, however it ends.
		go func() {
			<-r.Done()
			_ = sandbox.Close()
		}()
	}
	return &ReplicaProcess{Replica: r, imageID: imageID, imageErr: imageErr}, nil
}

// token returns a fresh token of pod's ServiceAccount. It is not bound to
// the Pod as the kubelet's projected token is: kwok deletes a Pod at once,
// and a bound token would die with it, before the process has released
// its Lease.
func (s *ReplicaStarter) token(ctx context.Context, pod *corev1.Pod) (string, error) {
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	ttl := s.TokenTTL
	if ttl <= 0 {
		ttl = time.Hour
	}
	seconds := int64(ttl / time.Second)
	tr, err := s.Kube.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("pod %s: token of serviceaccount %s/%s: %w", pod.Name, pod.Namespace, sa, err)
	}
	return tr.Status.Token, nil
}

// ReplicaProcess is the Process of ReplicaStarter: a replica.Replica,
// whose API, logs and leadership events the suites use directly.
type ReplicaProcess struct {
	*replica.Replica
	imageID  string
	imageErr error
}

// ImageID is the imageID of the process's container: the repository of
// the container's image and the digest of the image built from the binary
// it runs (see the package doc); an error when the binary is not a Go
// binary (a wrapper script), from which no image is built.
func (p *ReplicaProcess) ImageID() (string, error) { return p.imageID, p.imageErr }

// Signal sends SIGTERM and SIGKILL through Replica.Terminate and
// Replica.Kill, which mark the replica down for a replica.Prober once its
// in-flight call is over, and any other signal as is.
func (p *ReplicaProcess) Signal(sig os.Signal) error {
	switch sig {
	case syscall.SIGTERM:
		_, err := p.Terminate()
		return err
	case syscall.SIGKILL:
		_, err := p.Kill()
		return err
	}
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("%s: signal %v is not a syscall.Signal", p.Name, sig)
	}
	return p.Replica.Signal(s)
}

// Leading reads primus_leader from the process's /metrics.
func (p *ReplicaProcess) Leading(ctx context.Context) (bool, error) {
	g, err := p.LeaderGauge(ctx)
	return g == 1, err
}

// commandArgs returns the container's command after the binary, then its
// args: what the binary would get.
func commandArgs(c *corev1.Container) []string {
	var args []string
	if len(c.Command) > 1 {
		args = append(args, c.Command[1:]...)
	}
	return append(args, c.Args...)
}

// containerEnv is the container's literal variables and the Pod fields its
// fieldRefs name, as KEY=VALUE. Variables from Secrets and ConfigMaps are
// left out; POD_NAME and POD_NAMESPACE are set by replica.Start.
func containerEnv(pod *corev1.Pod, c *corev1.Container) []string {
	fields := map[string]string{
		"metadata.name": pod.Name, "metadata.namespace": pod.Namespace, "metadata.uid": string(pod.UID),
		"spec.nodeName": pod.Spec.NodeName, "spec.serviceAccountName": pod.Spec.ServiceAccountName,
		"status.podIP": pod.Status.PodIP, "status.hostIP": pod.Status.HostIP,
	}
	var env []string
	for _, ev := range c.Env {
		if ev.Name == "POD_NAME" || ev.Name == "POD_NAMESPACE" {
			continue
		}
		switch {
		case ev.ValueFrom == nil:
			env = append(env, ev.Name+"="+ev.Value)
		case ev.ValueFrom.FieldRef != nil:
			if v, ok := fields[ev.ValueFrom.FieldRef.FieldPath]; ok {
				env = append(env, ev.Name+"="+v)
			}
		}
	}
	return env
}
