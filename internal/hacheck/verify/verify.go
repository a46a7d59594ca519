// Package verify checks the HA invariants of an installed release on a live
// cluster: replicas Ready, spread across nodes and zones, the
// PodDisruptionBudget's allowed disruptions, container restarts, one image
// digest across the Ready replicas (and the pinned one, if any), the
// leadership (one holder that is a Ready Pod of the release, renewing its
// Lease; every replica's API answering; only the holder reporting that it
// leads), and the leader election RBAC as the API server decides it
// (SubjectAccessReview).
//
// It reads the rendered manifest to know what to look for, and asks the
// cluster what actually happened. It does not install anything (see package
// release).
package verify

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/primus-dev/primus/internal/hacheck/invariants"
	"github.com/primus-dev/primus/internal/hacheck/render"
)

// Report is what verify found.
type Report struct {
	// Deployment is namespace/name of the checked workload.
	Deployment string `json:"deployment"`
	// Replicas is spec.replicas.
	Replicas int `json:"replicas"`
	// Pods are the workload's pods, as `kubectl get po -o wide` shows them.
	Pods []Pod `json:"pods"`
	// Leader is the Lease's holder as verify saw it; nil without one.
	Leader *Leader `json:"leader,omitempty"`
	// Checks are the live invariants, in order.
	Checks []Check `json:"checks"`
}

// Options are what Run needs beyond the cluster and the manifest.
type Options struct {
	// Leadership adds the leadership checks (LeadershipChecks): the Lease
	// has one holder, a Running and Ready Pod of the release, that renews
	// it within its lease duration; the other replicas are Ready; and, for
	// a workload running the primus binary, every replica's API answers an
	// authenticated request and only the holder reports primus_leader=1.
	// They need a live leader: a release whose Pods run nothing fails them.
	Leadership bool
	// Replicas reaches the replica processes for the per-replica checks;
	// nil fails them (nothing can be asked).
	Replicas Replicas
	// LocalBuild says the Pods run a local build of cmd/primus (the
	// embedded cluster's podrunner), not the image their spec names: the
	// image-digest check then reports a digest the spec pins instead of
	// comparing it with what runs.
	LocalBuild bool
	// Poll is how often the Lease is read while waiting for a renewal.
	// Default 200 ms.
	Poll time.Duration
	// Namespace is the release namespace: objects the manifest has
	// without a namespace are read there, where Helm created them. Empty
	// is "default".
	Namespace string
}

func (o Options) poll() time.Duration {
	if o.Poll <= 0 {
		return 200 * time.Millisecond
	}
	return o.Poll
}

// Pod is one pod of the workload.
type Pod struct {
	Name  string `json:"name"`
	Phase string `json:"phase"`
	Ready bool   `json:"ready"`
	Node  string `json:"node"`
	Zone  string `json:"zone"`
	// Reason explains a pod that is not Running, e.g. the scheduler's
	// message for a Pending pod.
	Reason string `json:"reason,omitempty"`
	// Restarts sums the restartCount of its containers.
	Restarts int `json:"restarts"`
	// LastRestart is when a container of it last terminated and was
	// restarted; nil when none was.
	LastRestart *time.Time `json:"lastRestart,omitempty"`
	// Image is the image the spec of its workload container (the one
	// named primus, else the first) names.
	Image string `json:"image"`
	// ImageID is that container status's imageID as the runtime reported
	// it; empty when none did.
	ImageID string `json:"imageID,omitempty"`
	// Digest is the digest the container runs (sha256:...), read from
	// ImageID (ImageDigest), or DigestUnknown.
	Digest string `json:"digest"`
	// DigestReason says why Digest is DigestUnknown.
	DigestReason string `json:"digestReason,omitempty"`
}

// Check is one live invariant's verdict.
type Check struct {
	ID      string `json:"id"`
	Passed  bool   `json:"passed"`
	Message string `json:"message"`
}

// Passed reports whether every check passed.
func (r *Report) Passed() bool {
	for _, c := range r.Checks {
		if !c.Passed {
			return false
		}
	}
	return len(r.Checks) > 0
}

// Failed returns the checks that did not pass.
func (r *Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.Passed {
			out = append(out, c)
		}
	}
	return out
}

// Verify checks the release whose rendered manifest is objs on the cluster,
// without the leadership checks (see Run).
func Verify(ctx context.Context, client kubernetes.Interface, objs []render.Object) (*Report, error) {
	return Run(ctx, client, objs, Options{})
}

// Run checks the release whose rendered manifest is objs on the cluster.
// It only reads (SubjectAccessReviews and, for the replicas' API, a
// TokenRequest, store nothing).
func Run(ctx context.Context, client kubernetes.Interface, objs []render.Object, opts Options) (*Report, error) {
	m, err := invariants.NewManifestIn(objs, opts.Namespace)
	if err != nil {
		return nil, err
	}
	d := m.LeaderElected()
	if d == nil {
		return nil, fmt.Errorf("the manifest has no Deployment to verify")
	}
	live, err := client.AppsV1().Deployments(d.Namespace).Get(ctx, d.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	pods, err := workloadPods(ctx, client, live)
	if err != nil {
		return nil, err
	}
	rep := &Report{Deployment: d.Namespace + "/" + d.Name, Replicas: int(ptrOr(live.Spec.Replicas, 1)), Pods: pods}
	nodes, zones, err := eligibleNodes(ctx, client, live)
	if err != nil {
		return nil, err
	}
	rep.Checks = append(rep.Checks, checkReady(rep))
	rep.Checks = append(rep.Checks, checkNodeSpread(rep, d, nodes))
	rep.Checks = append(rep.Checks, checkZoneSpread(rep, zones))
	rep.Checks = append(rep.Checks, checkPDB(ctx, client, rep, m, d))
	rep.Checks = append(rep.Checks, checkRestarts(rep, time.Now()))
	rep.Checks = append(rep.Checks, checkImageDigest(rep, opts.LocalBuild))
	le := invariants.LeaderElectionOf(d)
	if le.Enabled {
		rep.Checks = append(rep.Checks, checkLease(ctx, client, le, m))
		if opts.Leadership {
			rep.Checks = append(rep.Checks, checkLeadership(ctx, client, rep, le, d, opts)...)
		}
		rep.Checks = append(rep.Checks, checkRBAC(ctx, client, d, le)...)
	}
	return rep, nil
}

// workloadPods lists the Deployment's pods with the node and zone each runs on.
func workloadPods(ctx context.Context, client kubernetes.Interface, d *appsv1.Deployment) ([]Pod, error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("deployment selector: %w", err)
	}
	list, err := client.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	nodes := map[string]string{}
	var out []Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		pod := Pod{Name: p.Name, Phase: string(p.Status.Phase), Ready: podReady(&p), Node: p.Spec.NodeName}
		pod.Restarts, pod.LastRestart = restarts(&p)
		podImage(&pod, &p)
		if pod.Node != "" {
			zone, ok := nodes[pod.Node]
			if !ok {
				n, err := client.CoreV1().Nodes().Get(ctx, pod.Node, metav1.GetOptions{})
				if err == nil {
					zone = n.Labels[corev1.LabelTopologyZone]
				}
				nodes[pod.Node] = zone
			}
			pod.Zone = zone
		}
		if p.Status.Phase != corev1.PodRunning {
			pod.Reason = pendingReason(&p)
		}
		out = append(out, pod)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// restarts sums the restart counts of p's containers and returns when the
// last restarted one last terminated.
func restarts(p *corev1.Pod) (int, *time.Time) {
	n := 0
	var last *time.Time
	for _, cs := range p.Status.ContainerStatuses {
		n += int(cs.RestartCount)
		if t := cs.LastTerminationState.Terminated; cs.RestartCount > 0 && t != nil {
			if at := t.FinishedAt.Time; last == nil || at.After(*last) {
				last = &at
			}
		}
	}
	return n, last
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// pendingReason is the scheduler's explanation of a pod it could not place.
func pendingReason(p *corev1.Pod) string {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return strings.TrimSpace(c.Reason + ": " + c.Message)
		}
	}
	return ""
}

// eligibleNodes counts the schedulable nodes the pods may run on (those
// matching the pod template's nodeSelector) and the zones they span: a
// spread can never be wider than that.
func eligibleNodes(ctx context.Context, client kubernetes.Interface, d *appsv1.Deployment) (nodes int, zones map[string]bool, err error) {
	list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{
		LabelSelector: labels.Set(d.Spec.Template.Spec.NodeSelector).String(),
	})
	if err != nil {
		return 0, nil, fmt.Errorf("list nodes: %w", err)
	}
	zones = map[string]bool{}
	for _, n := range list.Items {
		if n.Spec.Unschedulable {
			continue
		}
		nodes++
		if z := n.Labels[corev1.LabelTopologyZone]; z != "" {
			zones[z] = true
		}
	}
	return nodes, zones, nil
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
