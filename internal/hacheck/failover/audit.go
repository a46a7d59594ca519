package failover

import (
	"context"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/primus-dev/primus/internal/hacheck/replica"
	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// projectRecord is what a run remembers of a Project it created.
type projectRecord struct {
	name  string
	round int
	// spec is its spec as last written.
	spec primusv1.ProjectSpec
	// ns is the namespace as first seen after the Project was Ready.
	ns *corev1.Namespace
}

// recordNamespace remembers the namespace of Project name as it is now.
func (r *runner) recordNamespace(ctx context.Context, name string) {
	ns, err := r.inst.Kube().CoreV1().Namespaces().Get(ctx, primusv1.NamespaceName(name), metav1.GetOptions{})
	if err != nil {
		return
	}
	for _, p := range r.projects {
		if p.name == name && p.ns == nil {
			p.ns = ns
		}
	}
}

// checkProjects checks every Project created so far still exists, is
// Ready, and has the namespace it first had.
func (r *runner) checkProjects(ctx context.Context) []string {
	var problems []string
	for _, p := range r.projects {
		problems = append(problems, r.projectProblems(ctx, p)...)
	}
	return problems
}

// projectProblems checks one Project against the cluster.
func (r *runner) projectProblems(ctx context.Context, rec *projectRecord) []string {
	p, err := r.inst.Project(ctx, rec.name)
	switch {
	case apierrors.IsNotFound(err):
		return []string{fmt.Sprintf("project %s lost: it no longer exists", rec.name)}
	case err != nil:
		return []string{fmt.Sprintf("project %s: %v", rec.name, err)}
	case !replica.ProjectReady(p):
		return []string{fmt.Sprintf("project %s not Ready: phase %q, observed generation %d of %d", rec.name, p.Status.Phase, p.Status.ObservedGeneration, p.Generation)}
	}
	if rec.ns == nil {
		return nil
	}
	ns, err := r.inst.Kube().CoreV1().Namespaces().Get(ctx, rec.ns.Name, metav1.GetOptions{})
	switch {
	case err != nil:
		return []string{fmt.Sprintf("project %s: namespace %s: %v", rec.name, rec.ns.Name, err)}
	case recreated(rec.ns, ns):
		return []string{fmt.Sprintf("project %s: namespace %s was created again (uid %s, then %s)", rec.name, ns.Name, rec.ns.UID, ns.UID)}
	}
	return nil
}

// audit checks every Project the run created, at the end: it exists and
// is Ready, its namespace was created once, every replica's log together
// shows one quota and one RoleBinding per member created, and its
// RoleBindings are exactly its members'.
func (r *runner) audit(ctx context.Context) []ProjectAudit {
	creates := r.createCounts()
	var out []ProjectAudit
	for _, rec := range r.projects {
		a := ProjectAudit{Name: rec.name, Round: rec.round, Problems: r.projectProblems(ctx, rec)}
		p, err := r.inst.Project(ctx, rec.name)
		a.Exists = err == nil
		a.Ready = err == nil && replica.ProjectReady(p)
		if rec.ns != nil {
			a.NamespaceUID = string(rec.ns.UID)
			ns, err := r.inst.Kube().CoreV1().Namespaces().Get(ctx, rec.ns.Name, metav1.GetOptions{})
			a.NamespaceRecreated = err == nil && recreated(rec.ns, ns)
		}
		ns := primusv1.NamespaceName(rec.name)
		a.QuotaCreates = creates[ns]["resourcequota created"]
		a.RoleBindingCreates = creates[ns]["rolebinding created"]
		if a.QuotaCreates > 1 || a.RoleBindingCreates > len(rec.spec.Members) {
			a.Problems = append(a.Problems, fmt.Sprintf("applied twice: the logs show %d quota and %d RoleBinding creates for %d members",
				a.QuotaCreates, a.RoleBindingCreates, len(rec.spec.Members)))
		}
		a.RoleBindings, a.RoleBindingsMatch = r.roleBindings(ctx, rec)
		if !a.RoleBindingsMatch {
			a.Problems = append(a.Problems, fmt.Sprintf("project %s: RoleBindings %v are not its members'", rec.name, a.RoleBindings))
		}
		out = append(out, a)
	}
	return out
}

// createCounts counts, from every replica's log, the "created" lines per
// project namespace and message.
func (r *runner) createCounts() map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, rep := range r.fleet.All() {
		lines, err := rep.Log()
		if err != nil {
			continue
		}
		for _, l := range lines {
			if l.Msg != "resourcequota created" && l.Msg != "rolebinding created" {
				continue
			}
			ns := l.String("projectNamespace")
			if out[ns] == nil {
				out[ns] = map[string]int{}
			}
			out[ns][l.Msg]++
		}
	}
	return out
}

// roleBindings returns the names of the RoleBindings labelled for the
// project and whether they are exactly the ones its members need.
func (r *runner) roleBindings(ctx context.Context, rec *projectRecord) ([]string, bool) {
	list, err := r.inst.Kube().RbacV1().RoleBindings(primusv1.NamespaceName(rec.name)).List(ctx,
		metav1.ListOptions{LabelSelector: primusv1.LabelProject + "=" + rec.name})
	if err != nil {
		return nil, false
	}
	have := map[string]bool{}
	for _, rb := range list.Items {
		have[rb.Name] = true
	}
	want := map[string]bool{}
	for _, m := range rec.spec.Members {
		want[primusv1.RoleBindingName(m)] = true
	}
	return slices.Sorted(maps.Keys(have)), maps.Equal(have, want)
}

// recreated reports whether now is another object than was: a namespace
// deleted and created again has a new UID and creation time.
func recreated(was, now *corev1.Namespace) bool {
	return now.UID != was.UID || !now.CreationTimestamp.Equal(&was.CreationTimestamp)
}
