package apiauth_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/primus-dev/primus/internal/platform/api"
	"github.com/primus-dev/primus/internal/platform/apiauth"
	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
	"github.com/primus-dev/primus/internal/platform/leader"
	"github.com/primus-dev/primus/internal/testharness/clustertest"
)

// reviewCounter counts the TokenReviews and SubjectAccessReviews a client
// sends (a round tripper under the review clientset).
type reviewCounter struct {
	mu     sync.Mutex
	counts map[string]int // by resource: tokenreviews, subjectaccessreviews
}

func (c *reviewCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		if req.Method == http.MethodPost {
			resource := req.URL.Path[strings.LastIndex(req.URL.Path, "/")+1:]
			c.mu.Lock()
			c.counts[resource]++
			c.mu.Unlock()
		}
		return rt.RoundTrip(req)
	})
}

// get returns the number of reviews of resource sent so far.
func (c *reviewCounter) get(resource string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[resource]
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

type fixedLeader struct{}

func (fixedLeader) Leader(context.Context) (leader.Status, error) {
	return leader.Status{Holder: "primus-0", LeaderElection: true}, nil
}

// authServer is an api.Server on the embedded cluster's reviews, serving
// HTTPS on the loopback, with the reviews its Delegate sent.
type authServer struct {
	url     string
	http    *http.Client
	reviews *reviewCounter
}

// startServer starts an api.Server whose callers the embedded cluster
// authenticates and authorizes through a Delegate with opts; its Projects
// are a fake client holding the Project "existing". It stops at the end
// of t.
func startServer(t *testing.T, opts apiauth.Options) *authServer {
	t.Helper()
	counter := &reviewCounter{counts: map[string]int{}}
	cfg := apiauth.ReviewConfig(testCluster.RESTConfig())
	cfg.QPS = -1
	cfg.Wrap(counter.wrap)
	kube, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	auth, err := apiauth.New(kube, opts)
	require.NoError(t, err)

	scheme := runtime.NewScheme()
	require.NoError(t, primusv1.AddToScheme(scheme))
	existing := &primusv1.Project{ObjectMeta: metav1.ObjectMeta{Name: "existing"}}
	srv, err := api.NewServer(api.Options{
		Addr:          "127.0.0.1:0",
		Projects:      fake.NewClientBuilder().WithScheme(scheme).WithObjects(existing).Build(),
		Authenticator: auth.Authenticator,
		Authorizer:    auth.Authorizer,
		Leader:        fixedLeader{},
		Ping:          func(context.Context) error { return nil },
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
	})
	require.Eventually(t, func() bool { return srv.Addr() != nil }, 10*time.Second, 10*time.Millisecond)
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // test client of a self-signed server
	t.Cleanup(tr.CloseIdleConnections)
	return &authServer{url: "https://" + srv.Addr().String(), http: &http.Client{Transport: tr, Timeout: 30 * time.Second}, reviews: counter}
}

// call sends method path with token (none when empty) and returns the
// status code and the error message of the body ("" for a success).
func (s *authServer) call(t *testing.T, method, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.url+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.http.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	if resp.StatusCode >= 300 {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	}
	return resp.StatusCode, body.Error
}

// callers creates namespace ns with one ServiceAccount per name and
// returns a token of each; all is removed at the end of t.
func callers(t *testing.T, kube kubernetes.Interface, ns string, names ...string) map[string]string {
	t.Helper()
	ctx := t.Context()
	_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	tokens := map[string]string{}
	for _, name := range names {
		_, err := kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		require.NoError(t, err)
		tr, err := kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
		require.NoError(t, err)
		tokens[name] = tr.Status.Token
	}
	return tokens
}

// grant lets ServiceAccount ns/name do verbs on projects.primus.dev
// (a ClusterRole and its binding, both named after ns and name) and
// returns a function that revokes it; it is revoked at the end of t.
func grant(t *testing.T, kube kubernetes.Interface, ns, name string, verbs ...string) func() {
	t.Helper()
	ctx := t.Context()
	roleName := ns + "-" + name
	_, err := kube.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: roleName},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{primusv1.GroupName}, Resources: []string{primusv1.Resource}, Verbs: verbs}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: roleName},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: roleName},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	revoke := func() {
		_ = kube.RbacV1().ClusterRoleBindings().Delete(context.Background(), roleName, metav1.DeleteOptions{})
		_ = kube.RbacV1().ClusterRoles().Delete(context.Background(), roleName, metav1.DeleteOptions{})
	}
	t.Cleanup(revoke)
	return revoke
}

// TestAccessOnTheCluster runs the API's authentication and authorization
// against the embedded kube-apiserver: real ServiceAccount tokens, real
// RBAC, real HTTPS requests to the server.
func TestAccessOnTheCluster(t *testing.T) {
	clustertest.Require(t, testCluster)
	kube := testCluster.Clientset()
	const ns = "apiauth-access"
	tokens := callers(t, kube, ns, "alice", "bob")
	grant(t, kube, ns, "alice", "get", "list")
	s := startServer(t, apiauth.Options{})

	tests := []struct {
		name      string
		method    string
		path      string
		token     string
		wantCode  int
		wantError string // prefix of the error message
	}{
		{name: "allowed get", method: "GET", path: "/api/v1/projects/existing", token: tokens["alice"], wantCode: 200},
		{name: "allowed list", method: "GET", path: "/api/v1/projects", token: tokens["alice"], wantCode: 200},
		{name: "allowed leader", method: "GET", path: "/api/v1/leader", token: tokens["alice"], wantCode: 200},
		{name: "no token", method: "GET", path: "/api/v1/projects", wantCode: 401, wantError: "authentication required: send a Kubernetes bearer token"},
		{name: "invalid token", method: "GET", path: "/api/v1/projects", token: "not-a-token", wantCode: 401, wantError: "invalid token"},
		{name: "tampered token", method: "GET", path: "/api/v1/projects", token: tokens["alice"] + "x", wantCode: 401, wantError: "invalid token"},
		{
			name: "no permission to list", method: "GET", path: "/api/v1/projects", token: tokens["bob"], wantCode: 403,
			wantError: `user "system:serviceaccount:apiauth-access:bob" cannot list projects.primus.dev`,
		},
		{
			name: "no permission to delete one", method: "DELETE", path: "/api/v1/projects/existing", token: tokens["alice"], wantCode: 403,
			wantError: `user "system:serviceaccount:apiauth-access:alice" cannot delete projects.primus.dev "existing"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := s.call(t, tc.method, tc.path, tc.token)
			require.Equal(t, tc.wantCode, code, msg)
			assert.True(t, strings.HasPrefix(msg, tc.wantError), "error %q should start with %q", msg, tc.wantError)
		})
	}
}

// TestReviewsAreCachedOnTheCluster sends n requests with one token and
// counts the reviews the server sent to the kube-apiserver: one
// TokenReview and one SubjectAccessReview per question, whatever n, but
// a TokenReview per request for a forged token.
func TestReviewsAreCachedOnTheCluster(t *testing.T) {
	clustertest.Require(t, testCluster)
	kube := testCluster.Clientset()
	const ns, n = "apiauth-cache", 50
	tokens := callers(t, kube, ns, "alice", "bob")
	grant(t, kube, ns, "alice", "get", "list")

	tests := []struct {
		name              string
		path              string
		token             string
		wantCode          int
		wantTokenReviews  int
		wantAccessReviews int
	}{
		{name: "allowed", path: "/api/v1/projects/existing", token: tokens["alice"], wantCode: 200, wantTokenReviews: 1, wantAccessReviews: 1},
		{name: "denied", path: "/api/v1/projects/existing", token: tokens["bob"], wantCode: 403, wantTokenReviews: 1, wantAccessReviews: 1},
		// The kube-apiserver rejects a forged token with status.error,
		// which the token cache does not keep: every request asks again.
		{name: "forged token", path: "/api/v1/projects/existing", token: "not-a-token", wantCode: 401, wantTokenReviews: n, wantAccessReviews: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, apiauth.Options{})
			for range n {
				code, msg := s.call(t, "GET", tc.path, tc.token)
				require.Equal(t, tc.wantCode, code, msg)
			}
			assert.Equal(t, tc.wantTokenReviews, s.reviews.get("tokenreviews"), "TokenReviews for %d requests", n)
			assert.Equal(t, tc.wantAccessReviews, s.reviews.get("subjectaccessreviews"), "SubjectAccessReviews for %d requests", n)
		})
	}
}

// TestRevokedPermissionHonouredAfterTheAllowTTL revokes a caller's
// RoleBinding: the cached "allowed" answers until AllowCacheTTL has
// passed, then the caller gets 403. It runs with a 2 s TTL.
func TestRevokedPermissionHonouredAfterTheAllowTTL(t *testing.T) {
	clustertest.Require(t, testCluster)
	kube := testCluster.Clientset()
	const ns, ttl = "apiauth-revoke", 2 * time.Second
	tokens := callers(t, kube, ns, "carol")
	revoke := grant(t, kube, ns, "carol", "get")
	s := startServer(t, apiauth.Options{AllowCacheTTL: ttl, TokenCacheTTL: time.Minute})

	// The decision is cached after before, so it expires after before+ttl.
	before := time.Now()
	code, msg := s.call(t, "GET", "/api/v1/projects/existing", tokens["carol"])
	require.Equal(t, http.StatusOK, code, msg)
	revoke()
	// The answer is cached: still allowed, and no new review, while the
	// TTL runs (checked only when the call returned before it ran out).
	code, msg = s.call(t, "GET", "/api/v1/projects/existing", tokens["carol"])
	if time.Since(before) < ttl {
		assert.Equal(t, http.StatusOK, code, msg)
		assert.Equal(t, 1, s.reviews.get("subjectaccessreviews"))
	}
	require.Eventually(t, func() bool {
		code, _ := s.call(t, "GET", "/api/v1/projects/existing", tokens["carol"])
		return code == http.StatusForbidden
	}, ttl+10*time.Second, 100*time.Millisecond, "the revoked permission is honoured once the allow TTL has passed")
	assert.GreaterOrEqual(t, time.Since(before), ttl, "not before the TTL")
}
