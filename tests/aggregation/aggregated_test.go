//go:build linux

package aggregation

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"

	"github.com/primus-dev/primus/internal/testharness/rbactest"
)

// selfService is what a platform team's ClusterRole grants every user:
// get, list, watch, create and delete management projects.
var selfService = rbacv1.PolicyRule{APIGroups: []string{projects.Group}, Resources: []string{projects.Resource},
	Verbs: []string{"get", "list", "watch", "create", "delete"}}

// grant gives users selfService, as a ClusterRole and binding named name;
// removed at cleanup.
func grant(t testing.TB, name string, users ...string) {
	t.Helper()
	grantRules(t, name, []rbacv1.PolicyRule{selfService}, users...)
}

// grantRules gives users rules, as a ClusterRole and binding named name;
// removed at cleanup.
func grantRules(t testing.TB, name string, rules []rbacv1.PolicyRule, users ...string) {
	t.Helper()
	var subjects []rbacv1.Subject
	for _, u := range users {
		subjects = append(subjects, rbactest.User(u))
	}
	rbactest.GrantCluster(t, testCluster.Clientset(), name, rules, subjects...)
}

// TestProjectsThroughTheAggregator drives the management API as kubectl
// does, through the kube-apiserver: discovery lists projects; alice and bob
// each create one; alice's watch and list show only hers, with her role;
// bob may not read hers and carol, without RBAC, may not list, both refused
// with the cluster's own Status; alice's delete completes once the leader's
// controller has removed the Project's namespace.
func TestProjectsThroughTheAggregator(t *testing.T) {
	p := installPlatform(t, 2)
	ctx := t.Context()
	grant(t, "agg-projects-"+p.ns, "alice", "bob")

	disco, err := discovery.NewDiscoveryClientForConfig(testCluster.RESTConfig())
	require.NoError(t, err)
	resources, err := disco.ServerResourcesForGroupVersion(projects.GroupVersion().String())
	require.NoError(t, err, "the kube-apiserver's discovery includes the aggregated group")
	var verbs []string
	for _, r := range resources.APIResources {
		if r.Name == projects.Resource {
			verbs = r.Verbs
		}
	}
	assert.Subset(t, verbs, []string{"get", "list", "watch", "create", "delete"}, "projects in discovery")
	groups, err := disco.ServerGroups()
	require.NoError(t, err)
	order := map[string]int{}
	for i, g := range groups.Groups {
		order[g.Name] = i
	}
	require.Contains(t, order, "primus.dev")
	assert.Less(t, order[projects.Group], order["primus.dev"],
		"kubectl get projects resolves to the group first in discovery: the management API, not the CRD")

	aliceName, bobName := "alice-"+p.ns, "bob-"+p.ns
	deleteProject(t, aliceName)
	deleteProject(t, bobName)

	w, err := as(t, "alice").Watch(ctx, metav1.ListOptions{})
	require.NoError(t, err, "alice watches projects")
	defer w.Stop()

	// Bob's first: were the watch not filtered, its event would come
	// before alice's.
	_, err = as(t, "bob").Create(ctx, project(bobName, map[string]string{"bob": "edit"}), metav1.CreateOptions{})
	require.NoError(t, err, "bob creates his project")
	created, err := as(t, "alice").Create(ctx, project(aliceName, map[string]string{"alice": "admin"}), metav1.CreateOptions{})
	require.NoError(t, err, "alice creates hers")
	assert.Equal(t, "admin", role(created))

	_, added := nextEvent(t, w, watch.Added)
	assert.Equal(t, aliceName, added.GetName(), "alice's watch shows her project, not bob's")
	assert.Equal(t, "admin", role(added))

	list, err := as(t, "alice").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	var names []string
	for _, item := range list.Items {
		if strings.HasSuffix(item.GetName(), p.ns) {
			names = append(names, item.GetName())
			assert.Equal(t, "admin", role(&item))
		}
	}
	assert.Equal(t, []string{aliceName}, names, "alice lists only the projects she is a member of")

	_, err = as(t, "bob").Get(ctx, aliceName, metav1.GetOptions{})
	requireStatus(t, err, metav1.StatusReasonForbidden, "bob reads alice's project")

	_, err = as(t, "carol").List(ctx, metav1.ListOptions{})
	requireStatus(t, err, metav1.StatusReasonForbidden, "carol, without RBAC, lists projects")
	assert.Contains(t, err.Error(), `User "carol" cannot list resource "projects" in API group "management.primus.dev"`,
		"the cluster's own wording")

	// The leader's controller reconciles alice's project: the view shows
	// the namespace it made.
	require.Eventually(t, func() bool {
		got, err := as(t, "alice").Get(ctx, aliceName, metav1.GetOptions{})
		phase, _, _ := unstructured.NestedString(got.Object, "status", "phase")
		return err == nil && phase == "Ready"
	}, time.Minute, 200*time.Millisecond, "alice's project never Ready")

	require.NoError(t, as(t, "alice").Delete(ctx, aliceName, metav1.DeleteOptions{}))
	// Terminating first (the finalizer holds it while the controller
	// removes the namespace), then gone.
	for evType := watch.Modified; evType != watch.Deleted; {
		var ev *unstructured.Unstructured
		evType, ev = nextEvent(t, w, watch.Modified, watch.Deleted)
		require.Equal(t, aliceName, ev.GetName(), "alice's watch shows only her project")
	}
	_, err = as(t, "alice").Get(ctx, aliceName, metav1.GetOptions{})
	require.Error(t, err, "deleted")
}

// nextEvent returns the type and object of the next event on w of one of
// types, failing on an error event, a closed watch, or a minute without one.
func nextEvent(t *testing.T, w watch.Interface, types ...watch.EventType) (watch.EventType, *unstructured.Unstructured) {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case ev, ok := <-w.ResultChan():
			require.True(t, ok, "the watch closed")
			require.NotEqual(t, watch.Error, ev.Type, "watch error: %v", ev.Object)
			if !slices.Contains(types, ev.Type) {
				continue
			}
			u, ok := ev.Object.(*unstructured.Unstructured)
			require.True(t, ok, "event object %T", ev.Object)
			return ev.Type, u
		case <-timeout:
			t.Fatalf("no %v event within a minute", types)
			return "", nil
		}
	}
}

// role is the caller's role the management API puts in a Project's status.
func role(u *unstructured.Unstructured) string {
	r, _, _ := unstructured.NestedString(u.Object, "status", "role")
	return r
}

// requireStatus asserts that err is a Kubernetes Status error with reason.
func requireStatus(t *testing.T, err error, reason metav1.StatusReason, what string) {
	t.Helper()
	require.Error(t, err, what)
	var status apierrors.APIStatus
	require.True(t, errors.As(err, &status), "%s: not a Status: %v", what, err)
	assert.Equal(t, reason, status.Status().Reason, "%s: %v", what, err)
}
