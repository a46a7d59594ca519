//go:build unix

package platform

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/primus-dev/primus/internal/hacheck/replica"
	"github.com/primus-dev/primus/internal/testharness/chartcopy"
)

// TestInstallPutsNamespacelessObjectsInTheReleaseNamespace: the
// server-side-apply installer (replica.Install, which hacheck failover
// and these suites use) places a chart's namespaced objects that have no
// metadata.namespace in the release namespace, as helm install -n does;
// the replica then runs as that namespace's ServiceAccount, with its
// Lease RBAC, and leads.
func TestInstallPutsNamespacelessObjectsInTheReleaseNamespace(t *testing.T) {
	requireCluster(t)
	ctx := t.Context()
	const ns = "primus-nsless"
	chart := chartcopy.WithoutNamespaces(t, chartPath(), 5)
	inst := installChart(t, chart, ns, append([]string{"replicaCount=1"}, testTimings...))
	assert.Equal(t, ns, inst.Deployment.Namespace)

	kube := testCluster.Clientset()
	_, err := kube.CoreV1().ServiceAccounts(ns).Get(ctx, inst.ServiceAccount, metav1.GetOptions{})
	require.NoError(t, err, "the ServiceAccount is in the release namespace")
	roles, err := kube.RbacV1().Roles(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.NotEmpty(t, roles.Items, "the Roles are in the release namespace")
	_, err = kube.CoreV1().ServiceAccounts("default").Get(ctx, inst.ServiceAccount, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "nothing is applied in default: %v", err)

	operator, err := inst.Token(ctx, "operator", time.Hour)
	require.NoError(t, err)
	require.NoError(t, inst.GrantProjects(ctx, "operator"))
	set := startSet(t, inst, "nsless")
	all, err := set.Grow(ctx, 1, 90*time.Second)
	require.NoError(t, err, "the replica is Ready")
	_, err = replica.WaitSingleLeaderOf(ctx, all, operator, inst.Lease(), 30*time.Second)
	require.NoError(t, err, "it leads, holding the Lease in %s", ns)

	// Close removes what it applied outside the namespaces it made: the
	// chart's RoleBinding in kube-system.
	var elsewhere []string
	for _, o := range inst.Objects {
		if o.GetNamespace() == "kube-system" {
			elsewhere = append(elsewhere, o.GetKind()+"/"+o.GetName())
			assert.Equal(t, "RoleBinding", o.GetKind())
		}
	}
	require.NotEmpty(t, elsewhere, "the chart binds the authentication reader in kube-system")
	require.NoError(t, inst.Close(ctx))
	for _, o := range inst.Objects {
		if o.GetNamespace() == "kube-system" {
			_, err := kube.RbacV1().RoleBindings("kube-system").Get(ctx, o.GetName(), metav1.GetOptions{})
			assert.True(t, apierrors.IsNotFound(err), "%s deleted at Close: %v", o.GetName(), err)
		}
	}
}
