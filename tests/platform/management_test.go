//go:build unix

package platform

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"

	"github.com/primus-dev/primus/internal/hacheck/replica"
	mgmtv1 "github.com/primus-dev/primus/internal/platform/apis/management/v1alpha1"
	"github.com/primus-dev/primus/internal/testharness/rbactest"
)

// mgmtClient is a client of r's management API with a bearer token only,
// as a direct caller has.
func mgmtClient(t *testing.T, r *replica.Replica, token string) *rest.RESTClient {
	t.Helper()
	require.NotEmpty(t, r.API, "%s serves no API", r.Name)
	scheme := runtime.NewScheme()
	require.NoError(t, mgmtv1.AddToScheme(scheme))
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	c, err := rest.RESTClientFor(&rest.Config{
		Host: r.API, BearerToken: token, APIPath: "/apis",
		TLSClientConfig: rest.TLSClientConfig{Insecure: true}, // self-signed
		ContentConfig:   rest.ContentConfig{GroupVersion: &mgmtv1.SchemeGroupVersion, NegotiatedSerializer: serializer.NewCodecFactory(scheme).WithoutConversion()},
		Timeout:         30 * time.Second,
	})
	require.NoError(t, err)
	return c
}

// grantManagement lets ServiceAccount user of ns use the management API's
// projects; removed at cleanup.
func grantManagement(t *testing.T, inst *replica.Installation, user string) {
	t.Helper()
	rbactest.GrantCluster(t, inst.Kube(), "primus-mgmt-"+inst.Namespace+"-"+user,
		[]rbacv1.PolicyRule{{APIGroups: []string{mgmtv1.GroupName}, Resources: []string{mgmtv1.Resource}, Verbs: []string{"get", "list", "watch", "create", "delete"}}},
		rbactest.ServiceAccount(inst.Namespace, user))
}

// TestManagementAPIServesOnEveryReplica runs two replicas with
// managementAPI.enabled: both serve it, leader or not; a Project created
// through one is listed by the other with the caller's role, shows the
// status the leader's controller writes, and a delete through a standby
// completes once the controller has removed the namespace.
func TestManagementAPIServesOnEveryReplica(t *testing.T) {
	requireCluster(t)
	ctx := t.Context()
	const ns = "primus-mgmt"
	// Direct callers only: no APIService (which would need a certificate
	// from a Secret that the aggregator trusts).
	inst := install(t, ns, append([]string{"replicaCount=2"}, testTimings...))
	cleanupProjects(t, inst)
	alice, err := inst.Token(ctx, "alice", time.Hour)
	require.NoError(t, err)
	grantManagement(t, inst, "alice")

	set := startSet(t, inst, "mgmt")
	all, err := set.Grow(ctx, 2, 90*time.Second)
	require.NoError(t, err, "both replicas Ready, the management API's check included")
	// An operator who may read every Project asks each replica's API.
	operator, err := inst.Token(ctx, "operator", time.Hour)
	require.NoError(t, err)
	require.NoError(t, inst.GrantProjects(ctx, "operator"))
	leader, err := replica.WaitSingleLeaderOf(ctx, all, operator, inst.Lease(), 30*time.Second)
	require.NoError(t, err)
	standby := all[0]
	if standby == leader {
		standby = all[1]
	}
	t.Logf("leader %s, standby %s", leader.Name, standby.Name)

	const name = "mgmt-e2e"
	in := &mgmtv1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       mgmtv1.ProjectSpec{Members: []mgmtv1.Member{{Kind: "ServiceAccount", Namespace: ns, Name: "alice", Role: "admin"}}},
	}
	for _, r := range all {
		// Every replica answers, leader or not.
		var list mgmtv1.ProjectList
		require.NoError(t, mgmtClient(t, r, alice).Get().Resource(mgmtv1.Resource).Do(ctx).Into(&list), r.Name)
	}
	var created mgmtv1.Project
	require.NoError(t, mgmtClient(t, all[0], alice).Post().Resource(mgmtv1.Resource).Body(in).Do(ctx).Into(&created))
	assert.Equal(t, "admin", created.Status.Role)

	var list mgmtv1.ProjectList
	require.NoError(t, mgmtClient(t, all[1], alice).Get().Resource(mgmtv1.Resource).Do(ctx).Into(&list))
	require.Len(t, list.Items, 1)
	assert.Equal(t, name, list.Items[0].Name)
	assert.Equal(t, "admin", list.Items[0].Status.Role)

	// The leader's controller reconciles it; the standby's view shows it.
	var got mgmtv1.Project
	require.Eventually(t, func() bool {
		err := mgmtClient(t, standby, alice).Get().Resource(mgmtv1.Resource).Name(name).Do(ctx).Into(&got)
		return err == nil && got.Status.Phase == "Ready"
	}, 60*time.Second, 200*time.Millisecond, "never Ready through %s: %+v", standby.Name, got.Status)
	assert.Equal(t, "project-"+name, got.Status.Namespace)
	assert.Equal(t, "admin", got.Status.Role)

	// The finalizer holds the Project until the namespace is gone: the
	// answer is the Project, Terminating, as Kubernetes answers a delete
	// that is not yet done.
	res := mgmtClient(t, standby, alice).Delete().Resource(mgmtv1.Resource).Name(name).Do(ctx)
	var terminating mgmtv1.Project
	require.NoError(t, res.Into(&terminating))
	var code int
	res.StatusCode(&code)
	assert.Equal(t, http.StatusOK, code)
	assert.NotNil(t, terminating.DeletionTimestamp, "the finalizer holds it")
	// Gone: alice's list is empty (a get would be 403 now: a non-member
	// may not learn whether a Project exists).
	require.Eventually(t, func() bool {
		var list mgmtv1.ProjectList
		err := mgmtClient(t, standby, alice).Get().Resource(mgmtv1.Resource).Do(ctx).Into(&list)
		return err == nil && len(list.Items) == 0
	}, 60*time.Second, 200*time.Millisecond, "never deleted")
	err = mgmtClient(t, standby, alice).Get().Resource(mgmtv1.Resource).Name(name).Do(ctx).Error()
	assert.True(t, apierrors.IsForbidden(err), "%v", err)

	// With the management API on, SIGTERM still stops gracefully: both
	// servers drain after the shutdown delay and the process exits 0.
	_, err = standby.Terminate()
	require.NoError(t, err)
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	code, err = standby.Wait(waitCtx)
	require.NoError(t, err)
	assert.Equal(t, 0, code, "a graceful stop exits 0")
	assert.Empty(t, logLinesWith(t, standby, "primus failed"))
	assert.NotEmpty(t, logLinesWith(t, standby, "management api stopped"))
}
