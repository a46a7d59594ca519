package controller

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

func testScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	require.NoError(t, clientgoscheme.AddToScheme(s))
	require.NoError(t, primusv1.AddToScheme(s))
	return s
}

var (
	alice = primusv1.Member{Kind: primusv1.MemberUser, Name: "alice@example.com", Role: primusv1.RoleAdmin}
	devs  = primusv1.Member{Kind: primusv1.MemberGroup, Name: "devs", Role: primusv1.RoleEdit}
	ci    = primusv1.Member{Kind: primusv1.MemberServiceAccount, Name: "ci", Namespace: "tools", Role: primusv1.RoleView}
)

func project(name string, members []primusv1.Member, quota map[string]intstr.IntOrString) *primusv1.Project {
	return &primusv1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name), Generation: 1},
		Spec:       primusv1.ProjectSpec{DisplayName: name, Members: members, Quota: quota},
	}
}

// ours is an object the controller would have created for project name.
func ours(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Labels: map[string]string{primusv1.LabelProject: name, primusv1.LabelManagedBy: primusv1.ManagedBy}}
}

func roleBinding(project string, m primusv1.Member) *rbacv1.RoleBinding {
	rb := desiredRoleBindings(&primusv1.Project{ObjectMeta: metav1.ObjectMeta{Name: project}, Spec: primusv1.ProjectSpec{Members: []primusv1.Member{m}}})
	return rb[primusv1.RoleBindingName(m)]
}

func newReconciler(t *testing.T, objs ...client.Object) (*Reconciler, client.Client) {
	t.Helper()
	s := testScheme(t)
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).WithStatusSubresource(&primusv1.Project{}).Build()
	return &Reconciler{Client: c, Reader: c, Scheme: s}, c
}

func reconcileOnce(t *testing.T, r *Reconciler, name string) reconcile.Result {
	t.Helper()
	res, err := r.Reconcile(context.Background(), reconcile.Request{NamespacedName: client.ObjectKey{Name: name}})
	require.NoError(t, err)
	return res
}

// roleBindingNames lists the RoleBindings in ns by name.
func roleBindingNames(t *testing.T, c client.Client, ns string) []string {
	t.Helper()
	var list rbacv1.RoleBindingList
	require.NoError(t, c.List(context.Background(), &list, client.InNamespace(ns)))
	names := make([]string, 0, len(list.Items))
	for _, rb := range list.Items {
		names = append(names, rb.Name)
	}
	return names
}

func TestReconcileConverges(t *testing.T) {
	quota := map[string]intstr.IntOrString{"pods": intstr.FromInt32(10), "requests.memory": intstr.FromString("4Gi")}
	nsOurs := &corev1.Namespace{ObjectMeta: ours("web")}
	nsOurs.Name = "project-web"

	tests := []struct {
		name      string
		project   *primusv1.Project
		existing  []client.Object
		wantRBs   []primusv1.Member
		wantQuota corev1.ResourceList
	}{
		{
			name:      "fresh project creates everything",
			project:   project("web", []primusv1.Member{alice, devs, ci}, quota),
			wantRBs:   []primusv1.Member{alice, devs, ci},
			wantQuota: corev1.ResourceList{"pods": resource.MustParse("10"), "requests.memory": resource.MustParse("4Gi")},
		},
		{
			name:    "half-done work of an earlier leader is completed",
			project: project("web", []primusv1.Member{alice, devs}, quota),
			existing: []client.Object{
				nsOurs.DeepCopy(),
				roleBinding("web", alice),
			},
			wantRBs:   []primusv1.Member{alice, devs},
			wantQuota: corev1.ResourceList{"pods": resource.MustParse("10"), "requests.memory": resource.MustParse("4Gi")},
		},
		{
			name:    "a removed member loses its RoleBinding",
			project: project("web", []primusv1.Member{alice}, nil),
			existing: []client.Object{
				nsOurs.DeepCopy(),
				roleBinding("web", alice),
				roleBinding("web", devs),
			},
			wantRBs: []primusv1.Member{alice},
		},
		{
			name:    "a changed role replaces the RoleBinding",
			project: project("web", []primusv1.Member{{Kind: primusv1.MemberGroup, Name: "devs", Role: primusv1.RoleView}}, nil),
			existing: []client.Object{
				nsOurs.DeepCopy(),
				roleBinding("web", devs),
			},
			wantRBs: []primusv1.Member{{Kind: primusv1.MemberGroup, Name: "devs", Role: primusv1.RoleView}},
		},
		{
			name:    "an emptied quota deletes the ResourceQuota",
			project: project("web", nil, nil),
			existing: []client.Object{
				nsOurs.DeepCopy(),
				&corev1.ResourceQuota{
					ObjectMeta: metav1.ObjectMeta{Name: primusv1.QuotaName, Namespace: "project-web", Labels: ours("web").Labels},
					Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"pods": resource.MustParse("1")}},
				},
			},
		},
		{
			name:    "a changed quota updates the ResourceQuota",
			project: project("web", nil, map[string]intstr.IntOrString{"pods": intstr.FromInt32(3)}),
			existing: []client.Object{
				nsOurs.DeepCopy(),
				&corev1.ResourceQuota{
					ObjectMeta: metav1.ObjectMeta{Name: primusv1.QuotaName, Namespace: "project-web", Labels: ours("web").Labels},
					Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"pods": resource.MustParse("1"), "services": resource.MustParse("2")}},
				},
			},
			wantQuota: corev1.ResourceList{"pods": resource.MustParse("3")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, c := newReconciler(t, append(tc.existing, tc.project)...)
			ctx := context.Background()
			reconcileOnce(t, r, tc.project.Name)

			var p primusv1.Project
			require.NoError(t, c.Get(ctx, client.ObjectKey{Name: tc.project.Name}, &p))
			assert.Contains(t, p.Finalizers, primusv1.FinalizerCleanup)
			assert.Equal(t, primusv1.PhaseReady, p.Status.Phase)
			assert.Equal(t, "project-web", p.Status.Namespace)
			assert.Equal(t, p.Generation, p.Status.ObservedGeneration)
			ready := apimeta.FindStatusCondition(p.Status.Conditions, primusv1.ConditionReady)
			require.NotNil(t, ready)
			assert.Equal(t, metav1.ConditionTrue, ready.Status)

			var ns corev1.Namespace
			require.NoError(t, c.Get(ctx, client.ObjectKey{Name: "project-web"}, &ns))
			assert.Equal(t, "web", ns.Labels[primusv1.LabelProject])
			require.Len(t, ns.OwnerReferences, 1)
			assert.Equal(t, "Project", ns.OwnerReferences[0].Kind)
			assert.Equal(t, "web", ns.OwnerReferences[0].Name)

			var want []string
			for _, m := range tc.wantRBs {
				want = append(want, primusv1.RoleBindingName(m))
			}
			assert.ElementsMatch(t, want, roleBindingNames(t, c, "project-web"))
			for _, m := range tc.wantRBs {
				var rb rbacv1.RoleBinding
				require.NoError(t, c.Get(ctx, client.ObjectKey{Namespace: "project-web", Name: primusv1.RoleBindingName(m)}, &rb))
				assert.Equal(t, string(m.Role), rb.RoleRef.Name)
				assert.Equal(t, "ClusterRole", rb.RoleRef.Kind)
				require.Len(t, rb.Subjects, 1)
				assert.Equal(t, string(m.Kind), rb.Subjects[0].Kind)
				assert.Equal(t, m.Name, rb.Subjects[0].Name)
				assert.Equal(t, m.Namespace, rb.Subjects[0].Namespace)
			}

			var q corev1.ResourceQuota
			err := c.Get(ctx, client.ObjectKey{Namespace: "project-web", Name: primusv1.QuotaName}, &q)
			if tc.wantQuota == nil {
				assert.True(t, apierrors.IsNotFound(err), "quota should not exist, got %v", err)
			} else {
				require.NoError(t, err)
				assert.Len(t, q.Spec.Hard, len(tc.wantQuota))
				for k, v := range tc.wantQuota {
					assert.Zero(t, v.Cmp(q.Spec.Hard[k]), "quota %s", k)
				}
			}

			// A second pass changes nothing: reconciliation is idempotent.
			before := p.ResourceVersion
			reconcileOnce(t, r, tc.project.Name)
			require.NoError(t, c.Get(ctx, client.ObjectKey{Name: tc.project.Name}, &p))
			assert.Equal(t, before, p.ResourceVersion)
			assert.ElementsMatch(t, want, roleBindingNames(t, c, "project-web"))
		})
	}
}

func TestReconcileFails(t *testing.T) {
	foreign := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "project-web", Labels: map[string]string{"team": "other"}}}
	tests := []struct {
		name       string
		project    *primusv1.Project
		existing   []client.Object
		wantReason string
	}{
		{
			name:       "a namespace someone else owns is not adopted",
			project:    project("web", []primusv1.Member{alice}, nil),
			existing:   []client.Object{foreign},
			wantReason: "NamespaceConflict",
		},
		{
			name:       "an invalid spec is reported, not applied",
			project:    project("web", nil, map[string]intstr.IntOrString{"pods": intstr.FromString("lots")}),
			wantReason: "InvalidSpec",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, c := newReconciler(t, append(tc.existing, tc.project)...)
			ctx := context.Background()
			reconcileOnce(t, r, tc.project.Name)

			var p primusv1.Project
			require.NoError(t, c.Get(ctx, client.ObjectKey{Name: tc.project.Name}, &p))
			assert.Equal(t, primusv1.PhaseFailed, p.Status.Phase)
			ready := apimeta.FindStatusCondition(p.Status.Conditions, primusv1.ConditionReady)
			require.NotNil(t, ready)
			assert.Equal(t, metav1.ConditionFalse, ready.Status)
			assert.Equal(t, tc.wantReason, ready.Reason)
			assert.Empty(t, roleBindingNames(t, c, "project-web"))

			var ns corev1.Namespace
			err := c.Get(ctx, client.ObjectKey{Name: "project-web"}, &ns)
			if len(tc.existing) > 0 {
				require.NoError(t, err)
				assert.Equal(t, map[string]string{"team": "other"}, ns.Labels, "a foreign namespace is left alone")
				assert.Empty(t, ns.OwnerReferences)
			} else {
				assert.True(t, apierrors.IsNotFound(err))
			}
		})
	}
}

func TestReconcileFinalizerCleansUp(t *testing.T) {
	p := project("web", []primusv1.Member{alice}, map[string]intstr.IntOrString{"pods": intstr.FromInt32(5)})
	r, c := newReconciler(t, p)
	ctx := context.Background()
	reconcileOnce(t, r, "web")
	require.Len(t, roleBindingNames(t, c, "project-web"), 1)

	var got primusv1.Project
	require.NoError(t, c.Get(ctx, client.ObjectKey{Name: "web"}, &got))
	require.NoError(t, c.Delete(ctx, &got))
	// The finalizer holds the Project until the cleanup ran.
	require.NoError(t, c.Get(ctx, client.ObjectKey{Name: "web"}, &got))
	require.False(t, got.DeletionTimestamp.IsZero())

	reconcileOnce(t, r, "web")

	var ns corev1.Namespace
	err := c.Get(ctx, client.ObjectKey{Name: "project-web"}, &ns)
	assert.True(t, apierrors.IsNotFound(err), "namespace should be deleted, got %v", err)
	err = c.Get(ctx, client.ObjectKey{Name: "web"}, &got)
	assert.True(t, apierrors.IsNotFound(err), "project should be gone once its finalizer is removed, got %v", err)
}

func TestReconcileFinalizerWaitsForTerminatingNamespace(t *testing.T) {
	now := metav1.Now()
	p := project("web", nil, nil)
	p.Finalizers = []string{primusv1.FinalizerCleanup}
	p.DeletionTimestamp = &now
	ns := &corev1.Namespace{ObjectMeta: ours("web")}
	ns.Name = "project-web"
	ns.Finalizers = []string{"test/holds"} // keeps the namespace terminating
	ns.DeletionTimestamp = &now
	r, c := newReconciler(t, p, ns)

	res := reconcileOnce(t, r, "web")
	assert.Equal(t, DefaultRequeueAfter, res.RequeueAfter)
	var got primusv1.Project
	require.NoError(t, c.Get(context.Background(), client.ObjectKey{Name: "web"}, &got))
	assert.Contains(t, got.Finalizers, primusv1.FinalizerCleanup)
	assert.Equal(t, primusv1.PhaseTerminating, got.Status.Phase)
}

func TestReconcileForeignNamespaceSurvivesDeletion(t *testing.T) {
	now := metav1.Now()
	p := project("web", nil, nil)
	p.Finalizers = []string{primusv1.FinalizerCleanup}
	p.DeletionTimestamp = &now
	foreign := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "project-web"}}
	r, c := newReconciler(t, p, foreign)

	reconcileOnce(t, r, "web")
	require.NoError(t, c.Get(context.Background(), client.ObjectKey{Name: "project-web"}, &corev1.Namespace{}))
	err := c.Get(context.Background(), client.ObjectKey{Name: "web"}, &primusv1.Project{})
	assert.True(t, apierrors.IsNotFound(err))
}

func TestProjectOf(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
		want   []reconcile.Request
	}{
		{"labelled", map[string]string{primusv1.LabelProject: "web"}, []reconcile.Request{{NamespacedName: client.ObjectKey{Name: "web"}}}},
		{"unlabelled", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "x", Labels: tc.labels}}
			assert.Equal(t, tc.want, projectOf(context.Background(), obj))
		})
	}
}
