//go:build unix

package platform

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/primus-dev/primus/internal/hacheck/failover"
	"github.com/primus-dev/primus/internal/hacheck/render"
	"github.com/primus-dev/primus/internal/hacheck/replica"
	mgmtv1 "github.com/primus-dev/primus/internal/platform/apis/management/v1alpha1"
	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
	"github.com/primus-dev/primus/internal/platform/leader"
)

// suite is the state of the HA scenario.
type suite struct {
	t     *testing.T
	ctx   context.Context
	kube  kubernetes.Interface
	inst  *replica.Installation
	set   *replica.Set
	ns    string
	lease string
	alice string // token allowed to use projects
	bob   string // token without RBAC
}

// fastTimings are the lease timings the suite installs (see setup_test.go).
var fastTimings = failover.Timings{
	LeaseDuration: failover.Seconds(4 * time.Second), RenewDeadline: failover.Seconds(3 * time.Second), RetryPeriod: failover.Seconds(time.Second),
}

// TestPlatformHA runs three replicas with the chart's RBAC and walks them
// through election, API access control, reconciliation through a
// non-leader, a crash of the leader and a graceful handover.
func TestPlatformHA(t *testing.T) {
	requireCluster(t)
	ctx := t.Context()
	kube := testCluster.Clientset()
	s := &suite{t: t, ctx: ctx, kube: kube, ns: "primus-ha", lease: "primus-leader"}

	// The cluster, as the chart leaves it: CRD, namespace, RBAC. The chart
	// renders no Lease (createLease=false): the binary creates it, through
	// the chart's `create` rule, with Helm's ownership metadata.
	s.inst = install(t, s.ns, append([]string{"replicaCount=3", "leaderElection.createLease=false", "logLevel=debug"}, testTimings...))
	cleanupProjects(t, s.inst)
	require.Empty(t, render.Find(s.inst.Objects, "Lease"), "createLease=false renders no Lease")
	require.Equal(t, s.lease, s.inst.LeaderElection.LeaseName)

	createPods(ctx, t, kube, s.ns, []string{"primus-0", "primus-1", "primus-2", "primus-3"})
	var err error
	s.alice, err = s.inst.Token(ctx, "alice", time.Hour)
	require.NoError(t, err)
	require.NoError(t, s.inst.GrantProjects(ctx, "alice"))
	s.bob, err = s.inst.Token(ctx, "bob", time.Hour)
	require.NoError(t, err)

	s.set = startSet(t, s.inst, "primus")
	all, err := s.set.Grow(ctx, 3, 90*time.Second)
	require.NoError(t, err)
	probe := replica.StartProber(s.set.Live, s.alice, 200*time.Millisecond)
	t.Cleanup(func() { probe.Close() })

	first := s.waitSingleLeader(all, 30*time.Second)
	t.Logf("elected: %s", first.Name)
	s.checkLease()
	s.checkDeletionCost(first.Name)

	nonLeaders := others(all, first)
	t.Run("access control", func(t *testing.T) { s.checkAccess(t, nonLeaders[0]) })

	t.Run("a project created through a non-leader is reconciled", func(t *testing.T) {
		s.createProject(t, nonLeaders[0], "alpha")
		start := time.Now()
		s.waitProjectReady(t, "alpha", 60*time.Second)
		t.Logf("project alpha reconciled %s after creation", time.Since(start).Round(time.Millisecond))
		s.checkProjectObjects(t, "alpha")
		// Another non-leader reports the status the leader wrote.
		var p mgmtv1.Project
		require.NoError(t, mgmtClient(t, nonLeaders[1], s.alice).Get().Resource(mgmtv1.Resource).Name("alpha").Do(ctx).Into(&p))
		assert.Equal(t, string(primusv1.PhaseReady), p.Status.Phase)
	})

	// Crash the leader: the Lease expires and a survivor takes over.
	killed, err := first.Kill()
	require.NoError(t, err)
	survivors := others(all, first)
	s.createProject(t, survivors[0], "beta")
	second := s.waitSingleLeader(survivors, 30*time.Second)
	takeover := time.Since(killed)
	s.waitProjectReady(t, "beta", 60*time.Second)
	reconciled := time.Since(killed)
	t.Logf("kill -9 %s: %s took over after %s; project beta (created right after the kill) reconciled after %s",
		first.Name, second.Name, takeover.Round(time.Millisecond), reconciled.Round(time.Millisecond))
	// The release's crash bound: the Lease expires, and a survivor's next
	// retry takes it.
	assert.LessOrEqual(t, takeover, failover.Bound(failover.Crash, fastTimings), "takeover within leaseDuration + 2 x retryPeriod")
	s.checkDeletionCost(second.Name, first.Name)

	// Stop the new leader gracefully: it stops its controllers and
	// releases the Lease at once; its API serves, unready, for the chart's
	// shutdown delay, then it exits.
	delay := s.shutdownDelay()
	terminated, err := second.Terminate()
	require.NoError(t, err)
	last := others(survivors, second)[0]
	require.Eventually(t, func() bool { return s.leads(last) },
		15*time.Second, 50*time.Millisecond, "%s never took over from %s", last.Name, second.Name)
	handover := time.Since(terminated)
	t.Logf("SIGTERM %s: %s took over after %s (shutdown delay %s)", second.Name, last.Name, handover.Round(time.Millisecond), delay)
	assert.Equal(t, 0, s.waitExit(second, delay+30*time.Second), "a graceful stop exits 0")
	assert.NotEmpty(t, logLinesWith(t, second, "leadership released"), "the stopping leader logs the release")
	assert.Empty(t, logLinesWith(t, second, "leadership lost"))
	// Below the release's graceful bound, and well below the 4 s lease an
	// unreleased Lease would need to expire: only the release explains it.
	assert.LessOrEqual(t, handover, failover.Bound(failover.Graceful, fastTimings), "a released Lease is taken within the graceful bound")
	assert.Less(t, handover, fastTimings.LeaseDuration.D(), "faster than an expiry: the Lease was released")
	// The gracefully stopped replica removed its cost on the way out.
	s.checkDeletionCost(last.Name, first.Name)

	t.Run("the last replica reconciles and cleans up", func(t *testing.T) {
		s.createProject(t, last, "gamma")
		s.waitProjectReady(t, "gamma", 60*time.Second)
		var terminating mgmtv1.Project
		require.NoError(t, mgmtClient(t, last, s.alice).Delete().Resource(mgmtv1.Resource).Name("alpha").Do(ctx).Into(&terminating))
		assert.NotNil(t, terminating.DeletionTimestamp, "the finalizer holds it until the namespace is gone")
		require.Eventually(t, func() bool {
			_, errNS := kube.CoreV1().Namespaces().Get(ctx, "project-alpha", metav1.GetOptions{})
			err := mgmtClient(t, last, s.alice).Get().Resource(mgmtv1.Resource).Name("alpha").Do(ctx).Error()
			return apierrors.IsNotFound(errNS) && apierrors.IsNotFound(err)
		}, 90*time.Second, 500*time.Millisecond, "project alpha and its namespace are never deleted")
	})

	// Freeze the last leader (SIGSTOP) until a new replica takes the Lease,
	// then let it run again: it finds its lease stale (not renewed within
	// the renew deadline) or held by the new leader, and exits 1.
	fresh, err := s.set.Grow(ctx, 1, 90*time.Second)
	require.NoError(t, err, "primus-3 never became ready")
	frozen, err := last.Pause()
	require.NoError(t, err)
	require.Eventually(t, func() bool { return s.leads(fresh[0]) },
		30*time.Second, 100*time.Millisecond, "%s never took over from the frozen %s", fresh[0].Name, last.Name)
	t.Logf("SIGSTOP %s: %s took over after %s", last.Name, fresh[0].Name, time.Since(frozen).Round(time.Millisecond))
	_, err = last.Resume()
	require.NoError(t, err)
	assert.Equal(t, 1, s.waitExit(last, 30*time.Second), "a replica that lost the Lease exits 1")
	lost := logLinesWith(t, last, "leadership lost")
	if assert.Len(t, lost, 1, "the lost leadership is logged once") {
		assert.Equal(t, last.Name, leader.HolderPod(lost[0].String("identity")), "the identity names the Pod")
		assert.Contains(t, lost[0].String("reason"), "not renewed within the renew deadline")
	}

	res := probe.Close()
	t.Logf("API probes of running replicas: %d calls, %d failures", res.Calls, len(res.Failures))
	assert.Empty(t, res.Failures, "replicas that kept running must answer throughout")
	assert.Positive(t, res.Calls)

	// The chart's RBAC is all the binary needs: no replica was refused.
	for _, r := range s.set.All() {
		assert.Empty(t, grepLog(t, r, "forbidden"), "%s was refused by RBAC", r.Name)
	}
}

// leads reports whether the Lease names r's Pod and r reports leading
// through primus_leader.
func (s *suite) leads(r *replica.Replica) bool {
	lease, err := s.kube.CoordinationV1().Leases(s.ns).Get(s.ctx, s.lease, metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || leader.HolderPod(*lease.Spec.HolderIdentity) != r.Name {
		return false
	}
	g, err := r.LeaderGauge(s.ctx)
	return err == nil && g == 1
}

// waitSingleLeader waits until every replica in rs answers the API,
// exactly one reports leading through primus_leader, and the Lease has a
// live holder that is that one.
func (s *suite) waitSingleLeader(rs []*replica.Replica, timeout time.Duration) *replica.Replica {
	s.t.Helper()
	holder, err := replica.WaitSingleLeaderOf(s.ctx, rs, s.alice, s.inst.Lease(), timeout)
	require.NoError(s.t, err)
	return holder
}

// shutdownDelay is the --shutdown-delay the chart renders (zero without).
func (s *suite) shutdownDelay() time.Duration {
	s.t.Helper()
	args, _, err := replica.FromDeployment(s.inst.Deployment, s.inst.LeaderElection.Container)
	require.NoError(s.t, err)
	v, ok := replica.ArgValue(args, "--shutdown-delay")
	if !ok {
		return 0
	}
	d, err := time.ParseDuration(v)
	require.NoError(s.t, err)
	return d
}

// waitExit waits for r to exit and returns its exit code.
func (s *suite) waitExit(r *replica.Replica, timeout time.Duration) int {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, timeout)
	defer cancel()
	code, err := r.Wait(ctx)
	require.NoError(s.t, err)
	return code
}

// others returns rs without r.
func others(rs []*replica.Replica, r *replica.Replica) []*replica.Replica {
	return slices.DeleteFunc(slices.Clone(rs), func(c *replica.Replica) bool { return c == r })
}

// checkLease checks the Lease the binary created carries Helm's ownership
// metadata, so a later `helm upgrade` with createLease=true adopts it.
func (s *suite) checkLease() {
	s.t.Helper()
	lease, err := s.kube.CoordinationV1().Leases(s.ns).Get(s.ctx, s.lease, metav1.GetOptions{})
	require.NoError(s.t, err)
	assert.Equal(s.t, "Helm", lease.Labels["app.kubernetes.io/managed-by"])
	assert.Equal(s.t, release, lease.Annotations["meta.helm.sh/release-name"])
	assert.Equal(s.t, s.ns, lease.Annotations["meta.helm.sh/release-namespace"])
}

// checkDeletionCost checks that the leader's Pod carries the deletion cost
// and the others' do not. A replica killed with SIGKILL cannot clean up;
// its Pod keeps the cost until the restarted container clears it at start,
// so crashed names are skipped.
func (s *suite) checkDeletionCost(leaderName string, crashed ...string) {
	s.t.Helper()
	var last string
	ok := assert.Eventually(s.t, func() bool {
		for _, r := range s.set.All() {
			if slices.Contains(crashed, r.Name) {
				continue
			}
			want := ""
			if r.Name == leaderName {
				want = leader.LeaderDeletionCost
			}
			got, err := deletionCost(context.Background(), s.kube, s.ns, r.Name)
			if err != nil || got != want {
				last = fmt.Sprintf("pod %s: cost %q (want %q), err %v", r.Name, got, want, err)
				return false
			}
		}
		return true
	}, 10*time.Second, 100*time.Millisecond)
	if !ok {
		s.t.Fatalf("only %s's Pod should carry the leader's deletion cost: %s", leaderName, last)
	}
}

// checkAccess checks authentication and RBAC through one replica.
func (s *suite) checkAccess(t *testing.T, r *replica.Replica) {
	tests := []struct {
		name  string
		token string
		want  int
	}{
		// As on the kube-apiserver: a request without credentials is
		// system:anonymous, whom RBAC grants nothing here.
		{"no token", "", http.StatusForbidden},
		{"forged token", "not-a-token", http.StatusUnauthorized},
		{"token without RBAC", s.bob, http.StatusForbidden},
		{"token with RBAC", s.alice, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, raw, err := r.Call(s.ctx, "GET", replica.ProjectsPath, tc.token, nil)
			require.NoError(t, err)
			assert.Equal(t, tc.want, code, string(raw))
		})
	}
	// Health needs no token.
	resp, err := r.Get(s.ctx, r.Health+"/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// createProject creates a Project with two members and a quota through r.
func (s *suite) createProject(t *testing.T, r *replica.Replica, name string) {
	t.Helper()
	p := &primusv1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: primusv1.ProjectSpec{
			DisplayName: "Project " + name,
			Members: []primusv1.Member{
				{Kind: primusv1.MemberUser, Name: "carol@example.com", Role: primusv1.RoleEdit},
				{Kind: primusv1.MemberServiceAccount, Name: "alice", Namespace: s.ns, Role: primusv1.RoleAdmin},
			},
			Quota: map[string]intstr.IntOrString{"pods": intstr.FromInt32(10), "requests.memory": intstr.FromString("4Gi")},
		},
	}
	require.NoError(t, r.CreateProject(s.ctx, s.alice, p))
}

// waitProjectReady waits until the Project's status is Ready for its
// generation.
func (s *suite) waitProjectReady(t *testing.T, name string, timeout time.Duration) {
	t.Helper()
	_, _, err := s.inst.WaitProjectReady(s.ctx, name, 100*time.Millisecond, timeout)
	require.NoError(t, err)
}

// checkProjectObjects checks the namespace, RoleBindings and quota of a
// project created by createProject.
func (s *suite) checkProjectObjects(t *testing.T, name string) {
	t.Helper()
	nsName := "project-" + name
	ns, err := s.kube.CoreV1().Namespaces().Get(s.ctx, nsName, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, name, ns.Labels[primusv1.LabelProject])

	rbs, err := s.kube.RbacV1().RoleBindings(nsName).List(s.ctx, metav1.ListOptions{LabelSelector: primusv1.LabelProject + "=" + name})
	require.NoError(t, err)
	roles := map[string]rbacv1.Subject{}
	for _, rb := range rbs.Items {
		require.Len(t, rb.Subjects, 1)
		roles[rb.RoleRef.Name] = rb.Subjects[0]
	}
	assert.Equal(t, map[string]rbacv1.Subject{
		"edit":  {Kind: "User", APIGroup: rbacv1.GroupName, Name: "carol@example.com"},
		"admin": {Kind: "ServiceAccount", Name: "alice", Namespace: s.ns},
	}, roles)

	quota, err := s.kube.CoreV1().ResourceQuotas(nsName).Get(s.ctx, primusv1.QuotaName, metav1.GetOptions{})
	require.NoError(t, err)
	pods := quota.Spec.Hard[corev1.ResourcePods]
	mem := quota.Spec.Hard[corev1.ResourceRequestsMemory]
	assert.Equal(t, "10", pods.String())
	assert.Equal(t, "4Gi", mem.String())
}
