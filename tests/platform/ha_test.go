//go:build unix

package platform

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	primusv1 "primus.dev/primus/internal/apis/primus/v1alpha1"
	"primus.dev/primus/internal/leader"
)

// suite is the state of the HA scenario.
type suite struct {
	t        *testing.T
	ctx      context.Context
	kube     kubernetes.Interface
	ns       string
	lease    string
	replicas []*replica
	alice    string // token allowed to use projects
	bob      string // token without RBAC
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
	a := newApplier(t)
	installCRD(ctx, t, a)
	createNamespace(ctx, t, kube, s.ns)
	cleanupProjects(t, a)
	objs := installChartRBAC(ctx, t, a, s.ns, []string{"replicaCount=3", "leaderElection.createLease=false"})
	require.Empty(t, findKind(objs, "Lease"), "createLease=false renders no Lease")

	names := []string{"primus-0", "primus-1", "primus-2"}
	createPods(ctx, t, kube, s.ns, append(names, "primus-3"))
	kubeconfig := writeTokenKubeconfig(t, serviceAccountToken(ctx, t, kube, s.ns, release))
	s.alice = serviceAccountToken(ctx, t, kube, s.ns, "alice")
	grantProjects(ctx, t, kube, s.ns, "alice")
	s.bob = serviceAccountToken(ctx, t, kube, s.ns, "bob")

	cfg := replicaConfig{kubeconfig: kubeconfig, namespace: s.ns, leaseName: s.lease}
	for _, name := range names {
		s.replicas = append(s.replicas, startReplica(t, cfg, name))
	}
	for _, r := range s.replicas {
		require.Eventually(t, r.ready, 90*time.Second, 200*time.Millisecond, "%s never became ready", r.name)
	}
	probe := startProber(t, s.replicas, s.alice)

	first := s.waitSingleLeader(s.replicas, 30*time.Second)
	t.Logf("elected: %s", first.name)
	s.checkLease()
	s.checkDeletionCost(first.name)

	nonLeaders := s.others(s.replicas, first)
	t.Run("access control", func(t *testing.T) { s.checkAccess(t, nonLeaders[0]) })

	t.Run("a project created through a non-leader is reconciled", func(t *testing.T) {
		s.createProject(t, nonLeaders[0], "alpha")
		start := time.Now()
		s.waitProjectReady(t, "alpha", 60*time.Second)
		t.Logf("project alpha reconciled %s after creation", time.Since(start).Round(time.Millisecond))
		s.checkProjectObjects(t, "alpha")
		// Another non-leader reports the status the leader wrote.
		code, raw, err := nonLeaders[1].call("GET", "/api/v1/projects/alpha", s.alice, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, code, string(raw))
		var p primusv1.Project
		require.NoError(t, json.Unmarshal(raw, &p))
		assert.Equal(t, primusv1.PhaseReady, p.Status.Phase)
	})

	// Crash the leader: the Lease expires and a survivor takes over.
	first.stop(syscall.SIGKILL)
	killed := time.Now()
	survivors := s.others(s.replicas, first)
	s.createProject(t, survivors[0], "beta")
	second := s.waitSingleLeader(survivors, 30*time.Second)
	takeover := time.Since(killed)
	s.waitProjectReady(t, "beta", 60*time.Second)
	reconciled := time.Since(killed)
	t.Logf("kill -9 %s: %s took over after %s; project beta (created right after the kill) reconciled after %s",
		first.name, second.name, takeover.Round(time.Millisecond), reconciled.Round(time.Millisecond))
	assert.Less(t, takeover, 15*time.Second, "takeover should take about the lease duration (4s)")
	s.checkDeletionCost(second.name, first.name)

	// Stop the new leader gracefully: it releases the Lease on the way out.
	second.stop(syscall.SIGTERM)
	terminated := time.Now()
	last := s.others(survivors, second)[0]
	require.Eventually(t, func() bool {
		st, err := last.leader(s.alice)
		return err == nil && st.Holder == last.name && st.IsLeader
	}, 15*time.Second, 50*time.Millisecond, "%s never took over from %s", last.name, second.name)
	handover := time.Since(terminated)
	t.Logf("SIGTERM %s: %s took over after %s", second.name, last.name, handover.Round(time.Millisecond))
	assert.Equal(t, 0, second.waitExit(t, 30*time.Second), "a graceful stop exits 0")
	assert.NotEmpty(t, logLinesWith(t, second.logPath, "leadership released"), "the stopping leader logs the release")
	assert.Empty(t, logLinesWith(t, second.logPath, "leadership lost"))
	assert.Less(t, handover, 5*time.Second, "a released Lease is taken within about the retry period")
	// The gracefully stopped replica removed its cost on the way out.
	s.checkDeletionCost(last.name, first.name)

	t.Run("the last replica reconciles and cleans up", func(t *testing.T) {
		s.createProject(t, last, "gamma")
		s.waitProjectReady(t, "gamma", 60*time.Second)
		code, raw, err := last.call("DELETE", "/api/v1/projects/alpha", s.alice, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, code, string(raw))
		require.Eventually(t, func() bool {
			_, errNS := kube.CoreV1().Namespaces().Get(ctx, "project-alpha", metav1.GetOptions{})
			code, _, err := last.call("GET", "/api/v1/projects/alpha", s.alice, nil)
			return apierrors.IsNotFound(errNS) && err == nil && code == http.StatusNotFound
		}, 90*time.Second, 500*time.Millisecond, "project alpha and its namespace are never deleted")
	})

	// Freeze the last leader (SIGSTOP) until a new replica takes the Lease,
	// then let it run again: it finds it lost the Lease and exits 1.
	fresh := startReplica(t, cfg, "primus-3")
	s.replicas = append(s.replicas, fresh)
	require.Eventually(t, fresh.ready, 90*time.Second, 200*time.Millisecond, "primus-3 never became ready")
	last.stop(syscall.SIGSTOP)
	frozen := time.Now()
	require.Eventually(t, func() bool {
		st, err := fresh.leader(s.alice)
		return err == nil && st.IsLeader
	}, 30*time.Second, 100*time.Millisecond, "primus-3 never took over from the frozen %s", last.name)
	t.Logf("SIGSTOP %s: %s took over after %s", last.name, fresh.name, time.Since(frozen).Round(time.Millisecond))
	last.signal(syscall.SIGCONT)
	assert.Equal(t, 1, last.waitExit(t, 30*time.Second), "a replica that lost the Lease exits 1")
	lost := logLinesWith(t, last.logPath, "leadership lost")
	if assert.Len(t, lost, 1, "the lost leadership is logged once") {
		assert.Equal(t, last.name, lost[0]["identity"])
		assert.Contains(t, lost[0]["reason"], "held by "+fresh.name)
	}

	probe.halt()
	calls, failures := probe.results()
	t.Logf("API probes of running replicas: %d calls, %d failures", calls, len(failures))
	assert.Empty(t, failures, "replicas that kept running must answer throughout")
	assert.Positive(t, calls)

	// The chart's RBAC is all the binary needs: no replica was refused.
	for _, r := range s.replicas {
		assert.Empty(t, grepLog(t, r.logPath, "forbidden"), "%s was refused by RBAC", r.name)
	}
}

// waitSingleLeader waits until every replica in rs agrees on one holder
// that is one of rs, and the primus_leader gauges sum to 1.
func (s *suite) waitSingleLeader(rs []*replica, timeout time.Duration) *replica {
	s.t.Helper()
	var holder *replica
	var last string
	ok := assert.Eventually(s.t, func() bool {
		holder = nil
		var sum float64
		for _, r := range rs {
			st, err := r.leader(s.alice)
			if err != nil {
				last = err.Error()
				return false
			}
			if st.Expired || st.Holder == "" {
				last = fmt.Sprintf("%s sees no live holder: %+v", r.name, st)
				return false
			}
			i := slices.IndexFunc(rs, func(c *replica) bool { return c.name == st.Holder })
			if i < 0 || (holder != nil && holder != rs[i]) {
				last = fmt.Sprintf("%s sees holder %q", r.name, st.Holder)
				return false
			}
			holder = rs[i]
			g, err := r.leaderGauge()
			if err != nil {
				last = err.Error()
				return false
			}
			sum += g
		}
		if sum != 1 {
			last = fmt.Sprintf("primus_leader sums to %v", sum)
			return false
		}
		return true
	}, timeout, 100*time.Millisecond)
	if !ok {
		s.t.Fatalf("no single leader among %d replicas: %s", len(rs), last)
	}
	return holder
}

// others returns rs without r.
func (s *suite) others(rs []*replica, r *replica) []*replica {
	return slices.DeleteFunc(slices.Clone(rs), func(c *replica) bool { return c == r })
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
		for _, r := range s.replicas {
			if slices.Contains(crashed, r.name) {
				continue
			}
			want := ""
			if r.name == leaderName {
				want = leader.LeaderDeletionCost
			}
			got, err := deletionCost(context.Background(), s.kube, s.ns, r.name)
			if err != nil || got != want {
				last = fmt.Sprintf("pod %s: cost %q (want %q), err %v", r.name, got, want, err)
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
func (s *suite) checkAccess(t *testing.T, r *replica) {
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"forged token", "not-a-token", http.StatusUnauthorized},
		{"token without RBAC", s.bob, http.StatusForbidden},
		{"token with RBAC", s.alice, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, raw, err := r.call("GET", "/api/v1/projects", tc.token, nil)
			require.NoError(t, err)
			assert.Equal(t, tc.want, code, string(raw))
		})
	}
	// Health needs no token.
	resp, err := r.httpClient.Get(r.health + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// createProject creates a Project with two members and a quota through r.
func (s *suite) createProject(t *testing.T, r *replica, name string) {
	t.Helper()
	body := map[string]any{
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{
			"displayName": "Project " + name,
			"members": []map[string]any{
				{"kind": "User", "name": "carol@example.com", "role": "edit"},
				{"kind": "ServiceAccount", "name": "alice", "namespace": s.ns, "role": "admin"},
			},
			"quota": map[string]any{"pods": 10, "requests.memory": "4Gi"},
		},
	}
	code, raw, err := r.call("POST", "/api/v1/projects", s.alice, body)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, code, string(raw))
}

// waitProjectReady waits until the Project's status is Ready for its
// generation.
func (s *suite) waitProjectReady(t *testing.T, name string, timeout time.Duration) {
	t.Helper()
	var last primusv1.Project
	ok := assert.Eventually(t, func() bool {
		raw, err := s.kube.CoreV1().RESTClient().Get().AbsPath("/apis/primus.dev/v1alpha1/projects/" + name).DoRaw(s.ctx)
		if err != nil || json.Unmarshal(raw, &last) != nil {
			return false
		}
		return last.Status.Phase == primusv1.PhaseReady && last.Status.ObservedGeneration == last.Generation
	}, timeout, 100*time.Millisecond)
	if !ok {
		t.Fatalf("project %s never Ready; status: %+v", name, last.Status)
	}
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
