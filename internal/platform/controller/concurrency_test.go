package controller

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// maxAttempts bounds the retries of one reconcile in the concurrency
// tests: a conflict or an AlreadyExists is retried, as the workqueue does.
const maxAttempts = 100

// converge reconciles name until a reconcile succeeds without asking to
// be requeued, as the workqueue retries a failed item.
func converge(r *Reconciler, name string) error {
	var err error
	for range maxAttempts {
		var res reconcile.Result
		res, err = r.Reconcile(context.Background(), reconcile.Request{NamespacedName: client.ObjectKey{Name: name}})
		if err == nil && res.RequeueAfter == 0 {
			return nil
		}
	}
	return fmt.Errorf("project %s did not converge in %d attempts: %v", name, maxAttempts, err)
}

// reconcileAll reconciles every name racers times over, on workers
// goroutines: the racers of one Project run at the same time, which the
// workqueue never does, so this is a stronger test of idempotence than
// the controller needs.
func reconcileAll(t *testing.T, r *Reconciler, workers, racers int, names []string) {
	t.Helper()
	jobs := make(chan string)
	errs := make(chan error, len(names)*racers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for name := range jobs {
				errs <- converge(r, name)
			}
		})
	}
	for _, n := range names {
		for range racers {
			jobs <- n
		}
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestReconcileConcurrently(t *testing.T) {
	const projects = 12
	changedCI := primusv1.Member{Kind: ci.Kind, Name: ci.Name, Namespace: ci.Namespace, Role: primusv1.RoleEdit}
	tests := []struct {
		name    string
		workers int
		racers  int
	}{
		{name: "one worker", workers: 1, racers: 1},
		{name: "four workers, two on each project at once", workers: 4, racers: 2},
		{name: "sixteen workers, three on each project at once", workers: 16, racers: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			var objs []client.Object
			var names []string
			for i := range projects {
				p := project(fmt.Sprintf("p%d", i), []primusv1.Member{alice, devs, ci}, nil)
				objs = append(objs, p)
				names = append(names, p.Name)
			}
			r, c := newReconciler(t, objs...)
			r.RequeueAfter = 1 // retried at once by converge

			// Create: one finalizer, every RoleBinding, Ready.
			reconcileAll(t, r, tc.workers, tc.racers, names)
			for _, n := range names {
				var p primusv1.Project
				require.NoError(t, c.Get(ctx, client.ObjectKey{Name: n}, &p))
				assert.Equal(t, []string{primusv1.FinalizerCleanup}, p.Finalizers, n)
				assert.Equal(t, primusv1.PhaseReady, p.Status.Phase, n)
				assert.ElementsMatch(t, []string{primusv1.RoleBindingName(alice), primusv1.RoleBindingName(devs), primusv1.RoleBindingName(ci)},
					roleBindingNames(t, c, primusv1.NamespaceName(n)), n)
			}

			// Change members: devs removed, ci's role changed (roleRef is
			// immutable: delete and recreate under concurrency).
			for _, n := range names {
				var p primusv1.Project
				require.NoError(t, c.Get(ctx, client.ObjectKey{Name: n}, &p))
				p.Spec.Members = []primusv1.Member{alice, changedCI}
				require.NoError(t, c.Update(ctx, &p))
			}
			reconcileAll(t, r, tc.workers, tc.racers, names)
			for _, n := range names {
				ns := primusv1.NamespaceName(n)
				assert.ElementsMatch(t, []string{primusv1.RoleBindingName(alice), primusv1.RoleBindingName(changedCI)}, roleBindingNames(t, c, ns), n)
				var rb = roleBinding(n, changedCI)
				require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(rb), rb))
				assert.Equal(t, string(primusv1.RoleEdit), rb.RoleRef.Name, n)
			}

			// Delete: the finalizer deletes the namespace, then lets the
			// Project go.
			for _, n := range names {
				require.NoError(t, c.Delete(ctx, &primusv1.Project{ObjectMeta: project(n, nil, nil).ObjectMeta}))
			}
			reconcileAll(t, r, tc.workers, tc.racers, names)
			for _, n := range names {
				err := c.Get(ctx, client.ObjectKey{Name: n}, &primusv1.Project{})
				assert.True(t, apierrors.IsNotFound(err), "project %s should be gone, got %v", n, err)
				err = c.Get(ctx, client.ObjectKey{Name: primusv1.NamespaceName(n)}, &corev1.Namespace{})
				assert.True(t, apierrors.IsNotFound(err), "namespace of %s should be gone, got %v", n, err)
			}
		})
	}
}

// laggingClient reads from a cache that never sees the writes, which go
// to the API server: the worst case of a cache behind the API server,
// where every create of a reconcile's predecessor is unknown to the
// next one.
type laggingClient struct {
	client.Client               // the API server: writes
	cache         client.Reader // a snapshot taken before the writes
}

func (c laggingClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	return c.cache.Get(ctx, key, obj, opts...)
}

func (c laggingClient) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return c.cache.List(ctx, list, opts...)
}

func TestReconcileWithACacheBehind(t *testing.T) {
	tests := []struct {
		name       string
		finalizers []string // of the Project as created
		workers    int
		racers     int
	}{
		{name: "created by kubectl: the controller adds the finalizer", workers: 1, racers: 1},
		{name: "created by the API, with the finalizer", finalizers: []string{primusv1.FinalizerCleanup}, workers: 1, racers: 1},
		{name: "sixteen workers, two on each project at once", workers: 16, racers: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			var objs []client.Object
			var names []string
			for i := range 8 {
				p := project(fmt.Sprintf("p%d", i), []primusv1.Member{alice, devs}, map[string]intstr.IntOrString{"pods": intstr.FromInt32(5)})
				p.Finalizers = tc.finalizers
				objs = append(objs, p)
				names = append(names, p.Name)
			}
			s := testScheme(t)
			build := func() client.Client {
				var copies []client.Object
				for _, o := range objs {
					copies = append(copies, o.DeepCopyObject().(client.Object))
				}
				return fake.NewClientBuilder().WithScheme(s).WithObjects(copies...).WithStatusSubresource(&primusv1.Project{}).Build()
			}
			server, cache := build(), build()
			r := &Reconciler{Client: laggingClient{Client: server, cache: cache}, Reader: server, Scheme: s}

			// First pass creates everything; the second, whose cache still
			// shows none of it, must neither fail nor change anything.
			reconcileAll(t, r, tc.workers, tc.racers, names)
			before := resourceVersions(t, server, names)
			for _, n := range names {
				_, err := r.Reconcile(ctx, reconcile.Request{NamespacedName: client.ObjectKey{Name: n}})
				require.NoError(t, err, "a cache behind the API server is worked around, not retried with backoff")
			}
			assert.Equal(t, before, resourceVersions(t, server, names), "the stale pass wrote nothing")
			for _, n := range names {
				var p primusv1.Project
				require.NoError(t, server.Get(ctx, client.ObjectKey{Name: n}, &p))
				assert.Equal(t, []string{primusv1.FinalizerCleanup}, p.Finalizers, n)
				assert.Equal(t, primusv1.PhaseReady, p.Status.Phase, n)
				assert.ElementsMatch(t, []string{primusv1.RoleBindingName(alice), primusv1.RoleBindingName(devs)},
					roleBindingNames(t, server, primusv1.NamespaceName(n)), n)
			}
		})
	}
}

// resourceVersions returns the resourceVersion of every object the
// controller keeps for the named Projects, by kind and name.
func resourceVersions(t *testing.T, c client.Client, names []string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for _, n := range names {
		ns := primusv1.NamespaceName(n)
		objs := map[string]client.Object{
			"namespace/" + ns:     &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
			"resourcequota/" + ns: &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: primusv1.QuotaName, Namespace: ns}},
			"rolebinding/" + ns + "/" + primusv1.RoleBindingName(alice): &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: primusv1.RoleBindingName(alice), Namespace: ns}},
		}
		for key, obj := range objs {
			require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(obj), obj), key)
			out[key] = obj.GetResourceVersion()
		}
	}
	return out
}
