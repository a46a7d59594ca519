package action

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/hacheck/invariants"
	"github.com/primus-dev/primus/internal/hacheck/podrunner"
	"github.com/primus-dev/primus/internal/hacheck/replica"
	"github.com/primus-dev/primus/internal/hacheck/verify"
)

// podProcesses runs the real primus binary for every Pod of a release on
// the embedded cluster, as a kubelet would (internal/hacheck/podrunner),
// with Pod readiness following each process's /readyz.
type podProcesses struct {
	*runnerReplicas
	dir string
}

// runnerReplicas reaches the processes a podrunner runs.
type runnerReplicas struct {
	runner *podrunner.Runner
	kube   kubernetes.Interface
	ns, sa string
}

// RunnerReplicas are the replica processes r runs for the Pods of a
// release in namespace, whose API accepts tokens of serviceAccount: what
// verify asks on a cluster whose Pods a podrunner runs.
func RunnerReplicas(r *podrunner.Runner, kube kubernetes.Interface, namespace, serviceAccount string) verify.Replicas {
	return &runnerReplicas{runner: r, kube: kube, ns: namespace, sa: serviceAccount}
}

// primusBuild is cmd/primus being built while the cluster starts.
type primusBuild struct {
	done     chan struct{}
	dir, bin string // set before done is closed
	err      error
}

// buildPrimus builds cmd/primus into a temporary directory in the
// background, unless given names a built one.
func buildPrimus(ctx context.Context, given string, log io.Writer) *primusBuild {
	b := &primusBuild{done: make(chan struct{}), bin: given}
	if given != "" {
		close(b.done)
		return b
	}
	go func() {
		defer close(b.done)
		if b.dir, b.err = os.MkdirTemp("", "hacheck-primus-"); b.err != nil {
			return
		}
		if b.bin, b.err = replica.Build(ctx, b.dir, log); b.err != nil {
			b.err = fmt.Errorf("%w (or pass --binary with a built cmd/primus)", b.err)
		}
	}()
	return b
}

// wait returns the binary once built.
func (b *primusBuild) wait() (string, error) {
	<-b.done
	return b.bin, b.err
}

// remove waits for the build and removes what it built.
func (b *primusBuild) remove() {
	<-b.done
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

// runPods starts a podrunner running binary for the Pods of d in c. The
// caller must close it.
func runPods(ctx context.Context, c *cluster.Cluster, d *appsv1.Deployment, binary string) (*podProcesses, error) {
	dir, err := os.MkdirTemp("", "hacheck-pods-")
	if err != nil {
		return nil, err
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("deployment selector: %w", err)
	}
	le := invariants.LeaderElectionOf(d)
	lease := ""
	if le.Enabled && le.LeaseNamespace == d.Namespace {
		lease = le.LeaseName
	}
	starter := &podrunner.ReplicaStarter{Binary: binary, Kube: c.Clientset(), Config: c.RESTConfig(), Dir: dir}
	if pn := c.PodNetwork(); pn != nil {
		// Each process listens on its Pod IP, in its own network namespace.
		starter.Network = pn
	}
	r, err := podrunner.Start(ctx, podrunner.Options{
		Kube: c.Clientset(), Namespace: d.Namespace, Selector: sel.String(), Lease: lease,
		Starter:      starter,
		SetPodStatus: c.Readiness() == cluster.ReadyByRunner,
		Log:          slog.New(slog.DiscardHandler),
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &podProcesses{runnerReplicas: &runnerReplicas{runner: r, kube: c.Clientset(), ns: d.Namespace, sa: invariants.ServiceAccountOf(d)}, dir: dir}, nil
}

// Close stops every process (Pods left Running are marked unready) and
// removes their logs. A process still running after grace is killed: a
// cluster about to be deleted needs no graceful handover.
func (p *podProcesses) Close(ctx context.Context, grace time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	err := p.runner.Close(ctx)
	os.RemoveAll(p.dir)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil // killed after the grace, as asked
	}
	return err
}

// For returns the process of Pod name.
func (p *runnerReplicas) For(_ context.Context, name string) (verify.ReplicaClient, error) {
	i, ok := p.runner.Instance(name)
	if !ok || i.Process == nil {
		return nil, fmt.Errorf("no process runs for Pod %s", name)
	}
	rp, ok := i.Process.(*podrunner.ReplicaProcess)
	if !ok {
		return nil, fmt.Errorf("the process of Pod %s is not a primus replica", name)
	}
	if i.Phase != podrunner.PhaseRunning {
		return nil, fmt.Errorf("the process of Pod %s is %s", name, i.Phase)
	}
	return rp.Replica, nil
}

// Token is a short-lived token of the release's ServiceAccount.
func (p *runnerReplicas) Token(ctx context.Context) (string, error) {
	return serviceAccountToken(ctx, p.kube, p.ns, p.sa)
}

// serviceAccountToken requests a 10-minute token of ServiceAccount ns/sa
// (TokenRequest: nothing is stored).
func serviceAccountToken(ctx context.Context, kube kubernetes.Interface, ns, sa string) (string, error) {
	seconds := int64(600)
	tr, err := kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token of serviceaccount %s/%s: %w", ns, sa, err)
	}
	return tr.Status.Token, nil
}
