//go:build unix

package platform

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/primus-dev/primus/internal/hacheck/replica"
	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// TestControllerConcurrency runs the leader with several workers on a
// burst of Projects against the real API server, whose cache lags behind
// its writes: some created through the API (with the cleanup finalizer),
// some directly (the controller adds it). Every Project must become Ready
// with exactly its RoleBindings, a role change must replace them, and a
// delete must run the finalizer, all without one reconcile error (a
// conflict or AlreadyExists from a stale cache is worked around, not
// retried with backoff).
func TestControllerConcurrency(t *testing.T) {
	requireCluster(t)
	tests := []struct {
		name    string
		workers int
	}{
		{name: "four workers", workers: 4},
		{name: "sixteen workers", workers: 16},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			ns := fmt.Sprintf("primus-workers-%d", tc.workers)
			inst := install(t, ns, append([]string{"replicaCount=1", fmt.Sprintf("controller.workers=%d", tc.workers)}, testTimings...))
			cleanupProjects(t, inst)
			token, err := inst.Token(ctx, "alice", time.Hour)
			require.NoError(t, err)
			require.NoError(t, inst.GrantProjects(ctx, "alice"))
			set := startSet(t, inst, "primus")
			rs, err := set.Grow(ctx, 1, 90*time.Second)
			require.NoError(t, err)
			leader, err := replica.WaitSingleLeaderOf(ctx, rs, token, inst.Lease(), 30*time.Second)
			require.NoError(t, err)
			admin := adminClient(t)

			const viaAPI, direct = 24, 8
			prefix := fmt.Sprintf("w%d-", tc.workers)
			var names []string
			for i := range viaAPI + direct {
				names = append(names, fmt.Sprintf("%s%d", prefix, i))
			}
			members := func(role primusv1.Role) []primusv1.Member {
				return []primusv1.Member{
					{Kind: primusv1.MemberUser, Name: "carol@example.com", Role: role},
					{Kind: primusv1.MemberGroup, Name: "devs", Role: primusv1.RoleView},
				}
			}
			spec := func(role primusv1.Role) primusv1.ProjectSpec {
				return primusv1.ProjectSpec{Members: members(role), Quota: map[string]intstr.IntOrString{"pods": intstr.FromInt32(3)}}
			}
			concurrently(t, names, func(i int, name string) error {
				p := &primusv1.Project{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec(primusv1.RoleEdit)}
				if i < viaAPI {
					return leader.CreateProject(ctx, token, p)
				}
				return admin.Create(ctx, p)
			})
			waitAllReady(t, admin, names)
			for _, name := range names {
				var p primusv1.Project
				require.NoError(t, admin.Get(ctx, client.ObjectKey{Name: name}, &p))
				assert.Equal(t, []string{primusv1.FinalizerCleanup}, p.Finalizers, name)
				assert.Equal(t, map[string]string{"carol@example.com": "edit", "devs": "view"}, roles(t, admin, name), name)
			}

			// A role change: roleRef is immutable, so the RoleBinding is
			// deleted and created again.
			concurrently(t, names, func(_ int, name string) error {
				return leader.UpdateProject(ctx, token, &primusv1.Project{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec(primusv1.RoleAdmin)})
			})
			waitAllReady(t, admin, names)
			for _, name := range names {
				assert.Equal(t, map[string]string{"carol@example.com": "admin", "devs": "view"}, roles(t, admin, name), name)
			}

			// Delete: the finalizer deletes each namespace, then lets the
			// Project go.
			concurrently(t, names, func(_ int, name string) error {
				return admin.Delete(ctx, &primusv1.Project{ObjectMeta: metav1.ObjectMeta{Name: name}})
			})
			err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
				var list primusv1.ProjectList
				if err := admin.List(ctx, &list); err != nil {
					return false, nil
				}
				for _, p := range list.Items {
					if strings.HasPrefix(p.Name, prefix) {
						return false, nil
					}
				}
				return true, nil
			})
			require.NoError(t, err, "every Project's finalizer ran")
			for _, name := range names {
				var nsObj corev1.Namespace
				err := admin.Get(ctx, client.ObjectKey{Name: primusv1.NamespaceName(name)}, &nsObj)
				assert.True(t, apierrors.IsNotFound(err) || !nsObj.DeletionTimestamp.IsZero(), "namespace of %s deleted, got %v", name, err)
			}

			assert.Empty(t, grepLog(t, leader, "Reconciler error"), "no reconcile failed: a stale cache is no error")
		})
	}
}

// adminClient is a controller-runtime client of the cluster's admin that
// knows Projects.
func adminClient(t *testing.T) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	require.NoError(t, clientgoscheme.AddToScheme(scheme))
	require.NoError(t, primusv1.AddToScheme(scheme))
	// controller-runtime's client logs through its global logger; the
	// suite has none to give it.
	ctrllog.SetLogger(logr.Discard())
	c, err := client.New(testCluster.RESTConfig(), client.Options{Scheme: scheme})
	require.NoError(t, err)
	return c
}

// concurrently runs f for every name at once and requires every call to
// succeed.
func concurrently(t *testing.T, names []string, f func(i int, name string) error) {
	t.Helper()
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { errs[i] = f(i, name) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
}

// waitAllReady waits until every named Project is Ready for its current
// generation.
func waitAllReady(t *testing.T, c client.Client, names []string) {
	t.Helper()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var notReady []string
	err := wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		var list primusv1.ProjectList
		if err := c.List(ctx, &list); err != nil {
			return false, nil
		}
		notReady = notReady[:0]
		seen := 0
		for i := range list.Items {
			p := &list.Items[i]
			if !want[p.Name] {
				continue
			}
			seen++
			if !replica.ProjectReady(p) {
				notReady = append(notReady, p.Name)
			}
		}
		return seen == len(names) && len(notReady) == 0, nil
	})
	require.NoError(t, err, "not Ready: %v", notReady)
}

// roles returns the role of each subject of the project's RoleBindings.
func roles(t *testing.T, c client.Client, project string) map[string]string {
	t.Helper()
	var list rbacv1.RoleBindingList
	require.NoError(t, c.List(t.Context(), &list, client.InNamespace(primusv1.NamespaceName(project)), client.MatchingLabels{primusv1.LabelProject: project}))
	out := map[string]string{}
	for _, rb := range list.Items {
		require.Len(t, rb.Subjects, 1)
		out[rb.Subjects[0].Name] = rb.RoleRef.Name
	}
	return out
}
