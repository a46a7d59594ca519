package verify

import (
	"context"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/primus-dev/primus/internal/hacheck/invariants"
	"github.com/primus-dev/primus/internal/platform/leader"
)

func running(pods []Pod) []Pod {
	var out []Pod
	for _, p := range pods {
		if p.Phase == "Running" && p.Ready {
			out = append(out, p)
		}
	}
	return out
}

func checkReady(r *Report) Check {
	ready := running(r.Pods)
	c := Check{ID: "replicas-ready", Passed: len(ready) == r.Replicas,
		Message: fmt.Sprintf("%d/%d replicas Running and Ready", len(ready), r.Replicas)}
	for _, p := range r.Pods {
		if p.Phase != "Running" || !p.Ready {
			c.Message += fmt.Sprintf("; %s is %s", p.Name, p.Phase)
			if p.Reason != "" {
				c.Message += " (" + p.Reason + ")"
			}
		}
	}
	return c
}

func distinct(pods []Pod, key func(Pod) string) int {
	seen := map[string]bool{}
	for _, p := range pods {
		if k := key(p); k != "" {
			seen[k] = true
		}
	}
	return len(seen)
}

func checkNodeSpread(r *Report, d *appsv1.Deployment, eligible int) Check {
	ready := running(r.Pods)
	got := distinct(ready, func(p Pod) string { return p.Node })
	want := min(len(ready), eligible)
	c := Check{ID: "spread-nodes", Passed: got >= want,
		Message: fmt.Sprintf("%d Running replicas on %d distinct nodes (%d eligible)", len(ready), got, eligible)}
	if !c.Passed && hasSoftAntiAffinityOnly(d) {
		c.Message += "; soft anti-affinity lets the scheduler stack replicas"
	}
	return c
}

func hasSoftAntiAffinityOnly(d *appsv1.Deployment) bool {
	a := d.Spec.Template.Spec.Affinity
	return a != nil && a.PodAntiAffinity != nil && len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) == 0
}

func checkZoneSpread(r *Report, zones map[string]bool) Check {
	ready := running(r.Pods)
	got := distinct(ready, func(p Pod) string { return p.Zone })
	want := min(len(ready), len(zones))
	return Check{ID: "spread-zones", Passed: got >= want,
		Message: fmt.Sprintf("%d Running replicas in %d of %d eligible zones", len(ready), got, len(zones))}
}

func checkPDB(ctx context.Context, client kubernetes.Interface, r *Report, m *invariants.Manifest, d *appsv1.Deployment) Check {
	pdbs := m.PDBsFor(d)
	if r.Replicas <= 1 {
		live, err := client.PolicyV1().PodDisruptionBudgets(d.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return Check{ID: "pdb", Message: err.Error()}
		}
		for _, p := range live.Items {
			if len(pdbs) > 0 && p.Name == pdbs[0].Name {
				return Check{ID: "pdb", Message: fmt.Sprintf("PodDisruptionBudget %s exists at one replica: it blocks node drains", p.Name)}
			}
		}
		return Check{ID: "pdb", Passed: len(pdbs) == 0, Message: "no PodDisruptionBudget at one replica (a drain can always proceed)"}
	}
	if len(pdbs) == 0 {
		return Check{ID: "pdb", Message: fmt.Sprintf("%d replicas and no PodDisruptionBudget", r.Replicas)}
	}
	p, err := client.PolicyV1().PodDisruptionBudgets(d.Namespace).Get(ctx, pdbs[0].Name, metav1.GetOptions{})
	if err != nil {
		return Check{ID: "pdb", Message: fmt.Sprintf("PodDisruptionBudget %s: %v", pdbs[0].Name, err)}
	}
	return Check{ID: "pdb", Passed: p.Status.DisruptionsAllowed >= 1,
		Message: fmt.Sprintf("PodDisruptionBudget %s allows %d disruption(s) (%d/%d healthy)", p.Name, p.Status.DisruptionsAllowed, p.Status.CurrentHealthy, p.Status.ExpectedPods)}
}

func checkLease(ctx context.Context, client kubernetes.Interface, le invariants.LeaderElection, m *invariants.Manifest) Check {
	l, err := client.CoordinationV1().Leases(le.LeaseNamespace).Get(ctx, le.LeaseName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err) && len(m.Leases) == 0:
		return Check{ID: "lease", Passed: true, Message: fmt.Sprintf("Lease %s/%s not rendered by the chart; the binary creates it on first election", le.LeaseNamespace, le.LeaseName)}
	case err != nil:
		return Check{ID: "lease", Message: fmt.Sprintf("Lease %s/%s: %v", le.LeaseNamespace, le.LeaseName, err)}
	}
	holder := "no holder yet"
	if h := l.Spec.HolderIdentity; h != nil && *h != "" {
		holder = fmt.Sprintf("held by Pod %s (identity %s)", leader.HolderPod(*h), *h)
	}
	return Check{ID: "lease", Passed: true, Message: fmt.Sprintf("Lease %s/%s present, %s", l.Namespace, l.Name, holder)}
}

// recentRestart is how recent a container restart must be to fail the
// restarts check: a replica that crashed within it may be crashing still.
const recentRestart = 10 * time.Minute

// checkRestarts fails when a container of the release restarted within
// recentRestart, and counts the older restarts.
func checkRestarts(r *Report, now time.Time) Check {
	c := Check{ID: "restarts", Passed: true}
	total := 0
	var recent []string
	for _, p := range r.Pods {
		total += p.Restarts
		if p.LastRestart != nil && now.Sub(*p.LastRestart) < recentRestart {
			recent = append(recent, fmt.Sprintf("%s restarted %s ago (%d restarts)", p.Name, now.Sub(*p.LastRestart).Round(time.Second), p.Restarts))
		}
	}
	switch {
	case len(recent) > 0:
		c.Passed = false
		c.Message = strings.Join(recent, "; ")
	case total == 0:
		c.Message = "no container restarted"
	default:
		c.Message = fmt.Sprintf("%d container restart(s), none in the last %s", total, recentRestart)
	}
	return c
}
