package action

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/primus-dev/primus/internal/hacheck/audit"
	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/hacheck/failover"
	"github.com/primus-dev/primus/internal/hacheck/install"
	"github.com/primus-dev/primus/internal/hacheck/invariants"
	"github.com/primus-dev/primus/internal/hacheck/podnet"
	"github.com/primus-dev/primus/internal/hacheck/progress"
	"github.com/primus-dev/primus/internal/hacheck/render"
	"github.com/primus-dev/primus/internal/hacheck/verify"
)

// VerifyOptions says what to install and where.
type VerifyOptions struct {
	// Render holds the chart, release, namespace and value flags.
	Render render.Options
	// Kubeconfig and Context select an existing cluster the user named;
	// both empty start the embedded one. $KUBECONFIG alone never selects a
	// cluster to install on.
	Kubeconfig, Context string
	// Binary is a built cmd/primus to run for the embedded cluster's Pods;
	// empty builds it from this repository.
	Binary string
	// Cluster configures the embedded cluster (nodes, zones).
	Cluster cluster.Options
	// ReuseValues upgrades with the previous release's values as the base.
	ReuseValues bool
	// Keep leaves the embedded cluster running after the report.
	Keep bool
	// Timeout bounds the wait for the replicas (default 3 minutes).
	Timeout time.Duration
	// Failover, once the live checks pass, measures one crash round (the
	// leader's process killed -9) and one graceful round (the leader's Pod
	// deleted) with failover's round code, and adds their verdicts to the
	// report (FailoverChecks). Embedded cluster only: on a cluster the user
	// named it is bad input.
	Failover bool
	// Serve, on the embedded cluster, keeps the cluster and the replicas
	// running once the report is made: Verify calls Serve with the result
	// (the report, the kubeconfig), then waits until ctx is done before it
	// stops the processes and the cluster. The cluster gets a Pod network
	// where the machine allows one (cluster.Options.PodNetwork), so the
	// kube-apiserver's aggregator reaches the replicas' Pod IPs: kubectl
	// then works against the management API. On a cluster the user named it
	// is bad input.
	Serve func(*VerifyResult)
	// Progress receives one line per step and while waiting.
	Progress io.Writer
}

// VerifyResult is a verify run's outcome.
type VerifyResult struct {
	// Cluster describes where it ran: "embedded (3 nodes, 3 zones)" or the
	// context, API server and kubeconfig of the cluster the user named.
	Cluster string `json:"cluster"`
	// Kubeconfig is the cluster's kubeconfig (kept only with --keep).
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// Release, Namespace and Revision identify the installed install.
	Release   string `json:"release"`
	Namespace string `json:"namespace"`
	Revision  int    `json:"revision"`
	// Report holds the pods and the live checks (with Failover, the
	// FailoverChecks after them).
	Report *verify.Report `json:"report"`
	// Failover is what the failover rounds measured (with Failover, once
	// the live checks passed): the same report as hacheck failover's.
	Failover *failover.Report `json:"failover,omitempty"`
	// FailoverSkipped says why no failover round ran although asked.
	FailoverSkipped string `json:"failoverSkipped,omitempty"`
	// Kept is true when the embedded cluster was left running.
	Kept bool `json:"kept"`
	// StopCommand stops a kept embedded cluster.
	StopCommand string `json:"stopCommand,omitempty"`
	// PodNetwork is true when the embedded cluster's Pods have addresses of
	// their own, which the aggregator can reach (Serve asks for one).
	PodNetwork bool `json:"podNetwork,omitempty"`
	// Binaries is the directory of the pinned helm, kubectl and cluster
	// binaries (embedded cluster only).
	Binaries string `json:"binaries,omitempty"`
}

// named reports whether the user named a cluster.
func (o VerifyOptions) named() bool { return o.Kubeconfig != "" || o.Context != "" }

// Verify renders the chart (refusing bad input before anything starts),
// starts the embedded cluster unless the user named one, installs or
// upgrades the release, on the embedded cluster runs the real primus
// binary for each of its Pods (Pods are Ready when their process is),
// waits for its replicas, checks the live invariants, with Failover
// measures a crash and a graceful round once they hold, and stops the
// processes and the embedded cluster unless Keep is set. With Serve it
// waits, once the report is made, until ctx is done before stopping them.
func Verify(ctx context.Context, opts VerifyOptions) (res *VerifyResult, err error) {
	prog := progress.New(opts.Progress)
	if opts.Failover && opts.named() {
		return nil, errFailoverNamed
	}
	if opts.Serve != nil && opts.named() {
		return nil, errServeNamed
	}
	// Refuse bad input before starting anything. With --reuse-values on an
	// existing cluster the values are only complete once merged with the
	// release's, which install.Apply validates before it changes anything.
	if !(opts.ReuseValues && opts.named()) {
		if _, err := render.Render(opts.Render); err != nil {
			return nil, err
		}
	}

	var c *cluster.Cluster
	var build *primusBuild
	if opts.named() {
		if c, err = cluster.Open(ctx, opts.Kubeconfig, opts.Context); err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
		prog.Step("acting on %s", c.Describe())
	} else {
		prog.Step("acting on the embedded cluster (started for this run; $KUBECONFIG is not used: name a cluster with --kubeconfig or --context)")
		// cmd/primus builds while the cluster starts.
		build = buildPrimus(ctx, opts.Binary, opts.Progress)
		defer build.remove()
		copts := opts.Cluster
		copts.Readiness = cluster.ReadyByRunner
		if opts.Failover && copts.AuditPolicy == nil {
			// The split-brain oracle reads the API server's audit log.
			copts.AuditPolicy = []byte(audit.Policy)
		}
		if opts.Serve != nil {
			switch err := podnet.Available(); {
			case err != nil:
				prog.Step("no Pod network (%v): the cluster's aggregator will not reach the replicas", err)
			case copts.Nodes > podnet.NodesPerSubnet:
				prog.Step("no Pod network: it has room for %d nodes, not %d; the cluster's aggregator will not reach the replicas", podnet.NodesPerSubnet, copts.Nodes)
			default:
				copts.PodNetwork = true
			}
		}
		if c, err = cluster.Start(ctx, copts); err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
	}
	res = &VerifyResult{Release: opts.Render.ReleaseName, Namespace: opts.Render.Namespace, Cluster: c.Describe(), PodNetwork: c.PodNetwork() != nil}
	if c.Embedded() {
		res.Binaries = c.Binaries().Dir
	}
	defer func() {
		if opts.Keep || opts.named() {
			res.Kept = !opts.named()
			res.Kubeconfig = c.Kubeconfig()
			res.StopCommand = c.StopCommand()
			return
		}
		prog.Step("stopping the embedded cluster")
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if stopErr := c.Stop(stopCtx); stopErr != nil && err == nil {
			err = stopErr
		}
	}()

	prog.Step("helm upgrade --install %s in namespace %s", opts.Render.ReleaseName, opts.Render.Namespace)
	rel, err := install.Apply(ctx, install.Options{Kubeconfig: c.Kubeconfig(), Context: opts.Context, Render: opts.Render, ReuseValues: opts.ReuseValues})
	if err != nil {
		return res, err
	}
	res.Revision = rel.Version
	objs, err := render.Decode(rel.Manifest)
	if err != nil {
		return res, fmt.Errorf("decode release manifest: %w", err)
	}
	m, err := invariants.NewManifestIn(objs, rel.Namespace)
	if err != nil {
		return res, err
	}
	d := m.LeaderElected()
	if d == nil {
		return res, errors.New("the release has no Deployment to verify")
	}
	vopts := verify.Options{Namespace: rel.Namespace}
	var pods *podProcesses
	if c.Embedded() {
		bin, buildErr := build.wait()
		if buildErr != nil {
			return res, buildErr
		}
		prog.Step("running the primus binary for each Pod of %s/%s", d.Namespace, d.Name)
		if pods, err = runPods(ctx, c, d, bin); err != nil {
			return res, err
		}
		defer func() {
			// A kept cluster gets graceful stops (its Pods end unready); one
			// about to be deleted does not need them.
			grace := 500 * time.Millisecond
			if opts.Keep {
				grace = 30 * time.Second
			}
			if closeErr := pods.Close(context.WithoutCancel(ctx), grace); closeErr != nil && err == nil {
				err = closeErr
			}
		}()
		vopts.Replicas = pods
		vopts.LocalBuild = true // the Pods run the local build, not their spec's image
	} else {
		fw := portForwards(c, d)
		defer fw.Close()
		vopts.Replicas = fw
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = 3 * time.Minute
	}
	if err := waitRollout(ctx, c.Clientset(), d, timeout, prog); err != nil {
		return res, err
	}
	if err := waitPDBs(ctx, c.Clientset(), m, d, prog); err != nil {
		return res, err
	}
	prog.Step("checking live invariants")
	vopts.Leadership = true
	res.Report, err = verify.Run(ctx, c.Clientset(), objs, vopts)
	if err != nil {
		return res, err
	}
	if opts.Serve != nil {
		if res.PodNetwork && res.Report.Passed() {
			// What Serve prints must work at once: kubectl on an
			// aggregated group needs its APIService Available. One that
			// is not is said, and served all the same, to look into.
			if err := waitAPIServices(ctx, c.RESTConfig(), objs, time.Minute, prog); err != nil && ctx.Err() == nil {
				prog.Step("%v", err)
			}
		}
		if ctx.Err() != nil {
			// Interrupted before serving: nothing to print about reaching it.
			return res, ctx.Err()
		}
		res.Kubeconfig = c.Kubeconfig()
		// If hacheck itself is killed (SIGKILL), this still stops the
		// cluster.
		res.StopCommand = c.StopCommand()
		opts.Serve(res)
		prog.Step("serving until interrupted")
		<-ctx.Done()
		prog.Step("interrupted: stopping the replicas")
		return res, nil
	}
	if !opts.Failover {
		return res, nil
	}
	if failed := res.Report.Failed(); len(failed) > 0 {
		res.FailoverSkipped = fmt.Sprintf("%d live checks failed: failover is measured on a release whose live checks hold", len(failed))
		prog.Step("no failover rounds: %s", res.FailoverSkipped)
		return res, nil
	}
	prog.Step("measuring failover: one crash round, one graceful round")
	if res.Failover, err = measureFailover(ctx, c, pods, d, objs, opts, prog); err != nil {
		return res, fmt.Errorf("failover: %w", err)
	}
	res.Report.Checks = append(res.Report.Checks, FailoverVerdicts(res.Failover)...)
	return res, nil
}

// waitRollout waits until the Deployment's replicas are Ready, or until the
// pods that are not are all unschedulable (the scheduler has said why, and
// waiting longer changes nothing), or the timeout.
func waitRollout(ctx context.Context, client kubernetes.Interface, want *appsv1.Deployment, timeout time.Duration, prog *progress.Printer) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	var stuckSince time.Time
	last := ""
	for {
		d, err := client.AppsV1().Deployments(want.Namespace).Get(ctx, want.Name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("wait for %s/%s: %w", want.Namespace, want.Name, err)
		}
		replicas := int32(1)
		if d.Spec.Replicas != nil {
			replicas = *d.Spec.Replicas
		}
		done := d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedReplicas == replicas &&
			d.Status.ReadyReplicas == replicas && d.Status.Replicas == replicas
		unschedulable, pending, err := podsWaiting(ctx, client, d)
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%d/%d replicas Ready, %d updated", d.Status.ReadyReplicas, replicas, d.Status.UpdatedReplicas)
		if pending > 0 {
			line += fmt.Sprintf(", %d Pending (%d unschedulable)", pending, unschedulable)
		}
		if line != last || time.Since(start)%(10*time.Second) < time.Second {
			prog.Wait("%s", line)
			last = line
		}
		if done {
			return nil
		}
		if pending > 0 && unschedulable == pending && d.Status.ReadyReplicas+int32(pending) >= replicas {
			if stuckSince.IsZero() {
				stuckSince = time.Now()
			} else if time.Since(stuckSince) > 5*time.Second {
				prog.Wait("the scheduler cannot place %d pod(s); reporting why", pending)
				return nil
			}
		} else {
			stuckSince = time.Time{}
		}
		select {
		case <-ctx.Done():
			prog.Wait("timed out after %s; reporting what is there", timeout)
			return nil
		case <-time.After(time.Second):
		}
	}
}

func podsWaiting(ctx context.Context, client kubernetes.Interface, d *appsv1.Deployment) (unschedulable, pending int, err error) {
	pods, err := client.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.Set(d.Spec.Selector.MatchLabels).String()})
	if err != nil {
		return 0, 0, fmt.Errorf("list pods: %w", err)
	}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodPending || p.DeletionTimestamp != nil {
			continue
		}
		pending++
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				unschedulable++
			}
		}
	}
	return unschedulable, pending, nil
}

// waitPDBs waits until the disruption controller has computed the status of
// the workload's PodDisruptionBudgets.
func waitPDBs(ctx context.Context, client kubernetes.Interface, m *invariants.Manifest, d *appsv1.Deployment, prog *progress.Printer) error {
	for _, want := range m.PDBsFor(d) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			p, err := client.PolicyV1().PodDisruptionBudgets(want.Namespace).Get(ctx, want.Name, metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("wait for PodDisruptionBudget %s: %w", want.Name, err)
			}
			live, err := client.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("wait for PodDisruptionBudget %s: %w", want.Name, err)
			}
			if p.Status.ObservedGeneration >= p.Generation && p.Status.ExpectedPods > 0 && p.Status.CurrentHealthy == live.Status.ReadyReplicas {
				break
			}
			if time.Now().After(deadline) {
				prog.Wait("PodDisruptionBudget %s status not settled after 30s", want.Name)
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
	return nil
}
