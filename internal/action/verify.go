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

	"primus.dev/primus/internal/cluster"
	"primus.dev/primus/internal/invariants"
	"primus.dev/primus/internal/progress"
	"primus.dev/primus/internal/release"
	"primus.dev/primus/internal/render"
	"primus.dev/primus/internal/verify"
)

// VerifyOptions says what to install and where.
type VerifyOptions struct {
	// Render holds the chart, release, namespace and value flags.
	Render render.Options
	// Kubeconfig selects an existing cluster; empty starts the embedded one.
	Kubeconfig string
	// Cluster configures the embedded cluster (nodes, zones).
	Cluster cluster.Options
	// ReuseValues upgrades with the previous release's values as the base.
	ReuseValues bool
	// Keep leaves the embedded cluster running after the report.
	Keep bool
	// Timeout bounds the wait for the replicas (default 3 minutes).
	Timeout time.Duration
	// Progress receives one line per step and while waiting.
	Progress io.Writer
}

// VerifyResult is a verify run's outcome.
type VerifyResult struct {
	// Cluster describes where it ran: "embedded (3 nodes, 3 zones)" or the
	// kubeconfig path.
	Cluster string `json:"cluster"`
	// Kubeconfig is the cluster's kubeconfig (kept only with --keep).
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// Release, Namespace and Revision identify the installed release.
	Release   string `json:"release"`
	Namespace string `json:"namespace"`
	Revision  int    `json:"revision"`
	// Report holds the pods and the live checks.
	Report *verify.Report `json:"report"`
	// Kept is true when the embedded cluster was left running.
	Kept bool `json:"kept"`
	// StopCommand stops a kept embedded cluster.
	StopCommand string `json:"stopCommand,omitempty"`
}

// Verify renders the chart (refusing bad input before anything starts),
// starts the embedded cluster unless a kubeconfig is given, installs or
// upgrades the release, waits for its replicas, checks the live invariants,
// and stops the embedded cluster unless Keep is set.
func Verify(ctx context.Context, opts VerifyOptions) (res *VerifyResult, err error) {
	prog := progress.New(opts.Progress)
	// Refuse bad input before starting anything. With --reuse-values on an
	// existing cluster the values are only complete once merged with the
	// release's, which release.Apply validates before it changes anything.
	if !(opts.ReuseValues && opts.Kubeconfig != "") {
		if _, err := render.Render(opts.Render); err != nil {
			return nil, err
		}
	}

	prog.Step("starting the cluster")
	c, err := cluster.StartOrConnect(ctx, opts.Kubeconfig, opts.Cluster)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	res = &VerifyResult{Release: opts.Render.ReleaseName, Namespace: opts.Render.Namespace}
	if opts.Kubeconfig == "" {
		res.Cluster = fmt.Sprintf("embedded (%d nodes, %d zones)", len(c.NodeNames()), zonesOf(opts.Cluster))
	} else {
		res.Cluster = opts.Kubeconfig
	}
	defer func() {
		if opts.Keep || opts.Kubeconfig != "" {
			res.Kept = opts.Kubeconfig == ""
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
	rel, err := release.Apply(ctx, release.Options{Kubeconfig: c.Kubeconfig(), Render: opts.Render, ReuseValues: opts.ReuseValues})
	if err != nil {
		return res, err
	}
	res.Revision = rel.Version
	objs, err := render.Decode(rel.Manifest)
	if err != nil {
		return res, fmt.Errorf("decode release manifest: %w", err)
	}
	m, err := invariants.NewManifest(objs)
	if err != nil {
		return res, err
	}
	d := m.LeaderElected()
	if d == nil {
		return res, errors.New("the release has no Deployment to verify")
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
	res.Report, err = verify.Verify(ctx, c.Clientset(), objs)
	return res, err
}

func zonesOf(o cluster.Options) int {
	if o.Zones == 0 {
		return 3
	}
	return o.Zones
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
