package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/primus-dev/primus/internal/platform/apiauth"
	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
	"github.com/primus-dev/primus/internal/platform/leader"
	"github.com/primus-dev/primus/internal/testharness/reviewtest"
)

// Tokens the fake TokenReview accepts, and the verbs the fake
// SubjectAccessReview allows each user.
const (
	adminToken  = "admin-token"
	viewerToken = "viewer-token"
	nobodyToken = "nobody-token"
)

var users = map[string]string{adminToken: "admin", viewerToken: "viewer", nobodyToken: "nobody"}

var allowed = map[string]map[string]bool{
	"admin":  {"get": true, "list": true, "create": true, "update": true, "delete": true},
	"viewer": {"get": true, "list": true},
}

// allow is the fake SubjectAccessReview's rule: the verbs of allowed on
// projects.primus.dev.
func allow(user string, attrs authorizationv1.ResourceAttributes) (bool, string) {
	if attrs.Group == primusv1.GroupName && attrs.Resource == primusv1.Resource && allowed[user][attrs.Verb] {
		return true, ""
	}
	return false, "no RBAC rule allows it"
}

// noRetry makes a failed review fail the request at once.
var noRetry = &wait.Backoff{Duration: time.Millisecond, Steps: 1}

type fakeLeader struct {
	st  leader.Status
	err error
}

func (f fakeLeader) Leader(context.Context) (leader.Status, error) { return f.st, f.err }

// newTestServer is a Server on a fake Projects client whose reviews go,
// over HTTP and through apiauth's caches, to a reviewtest.Server that
// answers from users and allowed.
func newTestServer(t *testing.T, objs ...client.Object) (*Server, client.Client, *reviewtest.Server) {
	t.Helper()
	scheme := runtime.NewScheme()
	require.NoError(t, primusv1.AddToScheme(scheme))
	projects := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).WithStatusSubresource(&primusv1.Project{}).Build()
	reviews := reviewtest.New(t, users, allow)
	auth, err := apiauth.New(reviews.Clientset(t), apiauth.Options{Backoff: noRetry})
	require.NoError(t, err)
	metrics, err := NewMetrics(prometheus.NewRegistry())
	require.NoError(t, err)
	s, err := NewServer(Options{
		Addr:          "127.0.0.1:0",
		Projects:      projects,
		Authenticator: auth.Authenticator,
		Authorizer:    auth.Authorizer,
		Leader:        fakeLeader{st: leader.Status{Holder: "primus-0", Identity: "primus-1", LeaderElection: true}},
		Metrics:       metrics,
		Ping:          func(context.Context) error { return nil },
	})
	require.NoError(t, err)
	return s, projects, reviews
}

func existingProject(name string) *primusv1.Project {
	return &primusv1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       primusv1.ProjectSpec{Members: []primusv1.Member{{Kind: primusv1.MemberUser, Name: "alice", Role: primusv1.RoleAdmin}}},
	}
}

func do(t *testing.T, s *Server, method, path, token, body string) *httptest.ResponseRecorder {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

func decodeError(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var body errorBody
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	return body.Error
}

func TestAPI(t *testing.T) {
	const good = `{"metadata":{"name":"web"},"spec":{"displayName":"Web","members":[{"kind":"User","name":"bob","role":"edit"}],"quota":{"pods":10}}}`
	tests := []struct {
		name      string
		method    string
		path      string
		token     string
		body      string
		wantCode  int
		wantError string // substring of the "error" field, for non-2xx
	}{
		{name: "no token", method: "GET", path: "/api/v1/projects", wantCode: 401, wantError: "authentication required"},
		{name: "bad token", method: "GET", path: "/api/v1/projects", token: "forged", wantCode: 401, wantError: "invalid token"},
		{name: "no token on an unknown path", method: "GET", path: "/api/v1/secrets", wantCode: 401},
		{name: "no token for the leader", method: "GET", path: "/api/v1/leader", wantCode: 401},
		{name: "RBAC denies list", method: "GET", path: "/api/v1/projects", token: nobodyToken, wantCode: 403, wantError: `user "nobody" cannot list projects.primus.dev`},
		{name: "RBAC denies create", method: "POST", path: "/api/v1/projects", token: viewerToken, body: good, wantCode: 403, wantError: "cannot create"},
		{name: "RBAC denies delete", method: "DELETE", path: "/api/v1/projects/existing", token: viewerToken, wantCode: 403, wantError: `cannot delete projects.primus.dev "existing"`},
		{name: "list", method: "GET", path: "/api/v1/projects", token: viewerToken, wantCode: 200},
		{name: "get", method: "GET", path: "/api/v1/projects/existing", token: viewerToken, wantCode: 200},
		{name: "get missing", method: "GET", path: "/api/v1/projects/missing", token: viewerToken, wantCode: 404, wantError: `project "missing" not found`},
		{name: "create", method: "POST", path: "/api/v1/projects", token: adminToken, body: good, wantCode: 201},
		{name: "create existing", method: "POST", path: "/api/v1/projects", token: adminToken, body: `{"metadata":{"name":"existing"}}`, wantCode: 409, wantError: "already exists"},
		{
			name: "create with a bad role", method: "POST", path: "/api/v1/projects", token: adminToken,
			body:     `{"metadata":{"name":"web"},"spec":{"members":[{"kind":"User","name":"bob","role":"owner"}]}}`,
			wantCode: 400, wantError: "spec.members[0].role: must be admin, edit or view",
		},
		{
			name: "create with a bad quota", method: "POST", path: "/api/v1/projects", token: adminToken,
			body:     `{"metadata":{"name":"web"},"spec":{"quota":{"requests.cpu":"lots"}}}`,
			wantCode: 400, wantError: "spec.quota[requests.cpu]: must be a quantity",
		},
		{
			name: "create without a name", method: "POST", path: "/api/v1/projects", token: adminToken,
			body: `{"spec":{}}`, wantCode: 400, wantError: "metadata.name: must be set",
		},
		{
			name: "create with a name too long for a namespace", method: "POST", path: "/api/v1/projects", token: adminToken,
			body: `{"metadata":{"name":"` + strings.Repeat("a", 56) + `"}}`, wantCode: 400, wantError: "metadata.name: must be at most 55 characters",
		},
		{
			name: "create with a ServiceAccount without namespace", method: "POST", path: "/api/v1/projects", token: adminToken,
			body:     `{"metadata":{"name":"web"},"spec":{"members":[{"kind":"ServiceAccount","name":"ci","role":"view"}]}}`,
			wantCode: 400, wantError: "spec.members[0].namespace: must be set for a ServiceAccount",
		},
		{
			name: "create with an unknown field", method: "POST", path: "/api/v1/projects", token: adminToken,
			body: `{"metadata":{"name":"web"},"spec":{"owner":"bob"}}`, wantCode: 400, wantError: `unknown field "owner"`,
		},
		{
			name: "create with a wrong type", method: "POST", path: "/api/v1/projects", token: adminToken,
			body: `{"metadata":{"name":"web"},"spec":{"members":"bob"}}`, wantCode: 400, wantError: "spec.members: must be a",
		},
		{name: "create with an empty body", method: "POST", path: "/api/v1/projects", token: adminToken, wantCode: 400, wantError: "request body is empty"},
		{name: "create with broken JSON", method: "POST", path: "/api/v1/projects", token: adminToken, body: `{"metadata":`, wantCode: 400},
		{
			name: "update", method: "PUT", path: "/api/v1/projects/existing", token: adminToken,
			body: `{"spec":{"members":[{"kind":"Group","name":"devs","role":"view"}]}}`, wantCode: 200,
		},
		{
			name: "update missing", method: "PUT", path: "/api/v1/projects/missing", token: adminToken,
			body: `{"spec":{}}`, wantCode: 404,
		},
		{
			name: "update with another name", method: "PUT", path: "/api/v1/projects/existing", token: adminToken,
			body: `{"metadata":{"name":"other"},"spec":{}}`, wantCode: 400, wantError: "metadata.name: must be \"existing\"",
		},
		{
			name: "update with a stale resourceVersion", method: "PUT", path: "/api/v1/projects/existing", token: adminToken,
			body: `{"metadata":{"resourceVersion":"1"},"spec":{}}`, wantCode: 409, wantError: "changed by someone else",
		},
		{name: "delete", method: "DELETE", path: "/api/v1/projects/existing", token: adminToken, wantCode: 202},
		{name: "delete missing", method: "DELETE", path: "/api/v1/projects/missing", token: adminToken, wantCode: 404},
		{name: "method not allowed", method: "PATCH", path: "/api/v1/projects/existing", token: adminToken, wantCode: 405, wantError: "use GET, PUT, DELETE"},
		{name: "unknown path", method: "GET", path: "/api/v1/secrets", token: adminToken, wantCode: 404, wantError: "no such endpoint"},
		{name: "leader", method: "GET", path: "/api/v1/leader", token: viewerToken, wantCode: 200},
		{name: "leader denied", method: "GET", path: "/api/v1/leader", token: nobodyToken, wantCode: 403},
		{name: "healthz without auth", method: "GET", path: "/healthz", wantCode: 200},
		{name: "readyz without auth", method: "GET", path: "/readyz", wantCode: 503, wantError: "not serving"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			existing := existingProject("existing")
			s, _, _ := newTestServer(t, existing)
			rec := do(t, s, tc.method, tc.path, tc.token, tc.body)
			require.Equal(t, tc.wantCode, rec.Code, rec.Body.String())
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			if tc.wantCode >= 300 {
				assert.Contains(t, decodeError(t, rec), tc.wantError)
			}
			if tc.wantCode == 401 {
				assert.Contains(t, rec.Header().Get("WWW-Authenticate"), "Bearer")
			}
		})
	}
}

func TestCreateStoresTheProject(t *testing.T) {
	s, projects, seen := newTestServer(t)
	body := `{"metadata":{"name":"web","labels":{"team":"a"}},"spec":{"displayName":"Web","members":[{"kind":"ServiceAccount","name":"ci","namespace":"tools","role":"view"}],"quota":{"pods":10,"requests.memory":"4Gi"}},"status":{"phase":"Ready"}}`
	rec := do(t, s, "POST", "/api/v1/projects", adminToken, body)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	assert.Equal(t, "/api/v1/projects/web", rec.Header().Get("Location"))

	var got primusv1.Project
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	assert.Equal(t, "primus.dev/v1alpha1", got.APIVersion)
	assert.Equal(t, "Project", got.Kind)

	var stored primusv1.Project
	require.NoError(t, projects.Get(context.Background(), client.ObjectKey{Name: "web"}, &stored))
	assert.Equal(t, "Web", stored.Spec.DisplayName)
	assert.Equal(t, map[string]string{"team": "a"}, stored.Labels)
	require.Len(t, stored.Spec.Members, 1)
	assert.Equal(t, "tools", stored.Spec.Members[0].Namespace)
	assert.Equal(t, intstr.FromInt32(10), stored.Spec.Quota["pods"])
	assert.Empty(t, stored.Status.Phase, "the API never writes status")
	assert.Equal(t, []string{primusv1.FinalizerCleanup}, stored.Finalizers, "created with the cleanup finalizer: the controller need not add it")

	sars := seen.ResourceAttributes()
	require.NotEmpty(t, sars)
	last := sars[len(sars)-1]
	assert.Equal(t, authorizationv1.ResourceAttributes{Group: "primus.dev", Version: "v1alpha1", Resource: "projects", Verb: "create"}, last)
}

func TestUpdateReplacesSpec(t *testing.T) {
	s, projects, seen := newTestServer(t, existingProject("existing"))
	rec := do(t, s, "PUT", "/api/v1/projects/existing", adminToken, `{"spec":{"displayName":"New","quota":{"pods":"3"}}}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	var stored primusv1.Project
	require.NoError(t, projects.Get(context.Background(), client.ObjectKey{Name: "existing"}, &stored))
	assert.Equal(t, "New", stored.Spec.DisplayName)
	assert.Empty(t, stored.Spec.Members)
	assert.Equal(t, intstr.FromString("3"), stored.Spec.Quota["pods"])
	sars := seen.ResourceAttributes()
	require.NotEmpty(t, sars)
	last := sars[len(sars)-1]
	assert.Equal(t, "update", last.Verb)
	assert.Equal(t, "existing", last.Name)
}

func TestListReturnsItems(t *testing.T) {
	s, _, _ := newTestServer(t, existingProject("a"), existingProject("b"))
	rec := do(t, s, "GET", "/api/v1/projects", viewerToken, "")
	require.Equal(t, http.StatusOK, rec.Code)
	var list primusv1.ProjectList
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &list))
	assert.Equal(t, "ProjectList", list.Kind)
	require.Len(t, list.Items, 2)
	assert.Equal(t, "a", list.Items[0].Name)
	assert.Empty(t, list.Items[0].ManagedFields)
}

func TestLeaderEndpoint(t *testing.T) {
	s, _, _ := newTestServer(t)
	rec := do(t, s, "GET", "/api/v1/leader", viewerToken, "")
	require.Equal(t, http.StatusOK, rec.Code)
	var st leader.Status
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &st))
	assert.Equal(t, "primus-0", st.Holder)
	assert.Equal(t, "primus-1", st.Identity)
	assert.False(t, st.IsLeader)

	s.opts.Leader = fakeLeader{err: errors.New("boom")}
	rec = do(t, s, "GET", "/api/v1/leader", viewerToken, "")
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
}

func TestMetricsCountRequestsByRoute(t *testing.T) {
	s, _, _ := newTestServer(t, existingProject("existing"))
	do(t, s, "GET", "/api/v1/projects/existing", viewerToken, "")
	do(t, s, "GET", "/api/v1/projects/other", viewerToken, "")
	do(t, s, "GET", "/api/v1/projects", "", "")
	m := s.opts.Metrics
	assert.Equal(t, 1.0, counterValue(t, m.Requests.WithLabelValues("GET", "/api/v1/projects/{name}", "200")))
	assert.Equal(t, 1.0, counterValue(t, m.Requests.WithLabelValues("GET", "/api/v1/projects/{name}", "404")))
	assert.Equal(t, 1.0, counterValue(t, m.Requests.WithLabelValues("GET", "/api/v1/projects", "401")))
}

func TestReady(t *testing.T) {
	tests := []struct {
		name    string
		serving bool
		ping    error
		wantErr string
	}{
		{name: "serving and reachable", serving: true},
		{name: "not serving yet", serving: false, wantErr: "not serving"},
		{name: "apiserver unreachable", serving: true, ping: errors.New("connection refused"), wantErr: "unreachable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _ := newTestServer(t)
			s.opts.Ping = func(context.Context) error { return tc.ping }
			s.serving.Store(tc.serving)
			err := s.Ready(httptest.NewRequest("GET", "/readyz", nil))
			if tc.wantErr == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tc.wantErr)
			}
		})
	}
}

func TestStartServesTLSAndDrains(t *testing.T) {
	s, _, _ := newTestServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	require.Eventually(t, func() bool { return s.Addr() != nil && s.serving.Load() }, 5*time.Second, 10*time.Millisecond)

	tr := &http.Transport{TLSClientConfig: insecureTLS()}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + s.Addr().String() + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.NotNil(t, resp.TLS)

	cancel()
	require.NoError(t, <-done)
	assert.False(t, s.serving.Load())
}

// counterValue reads a counter.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, c.Write(&m))
	return m.GetCounter().GetValue()
}

// TestReviewsAreCached sends the same request n times and counts the
// reviews that reached the (stand-in) API server: one of each, whatever
// n, for an allowed and for a denied caller; a rejected token is asked
// about every time (the TokenReview answers with an error, which the
// cache does not keep).
func TestReviewsAreCached(t *testing.T) {
	const n = 20
	tests := []struct {
		name      string
		path      string
		token     string
		wantCode  int
		wantToken int // TokenReviews after n requests
		wantSAR   int // SubjectAccessReviews after n requests
	}{
		{name: "allowed", path: "/api/v1/projects/existing", token: viewerToken, wantCode: 200, wantToken: 1, wantSAR: 1},
		{name: "denied", path: "/api/v1/projects/existing", token: nobodyToken, wantCode: 403, wantToken: 1, wantSAR: 1},
		{name: "invalid token", path: "/api/v1/projects", token: "forged", wantCode: 401, wantToken: n, wantSAR: 0},
		{name: "no token", path: "/api/v1/projects", wantCode: 401, wantToken: 0, wantSAR: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _, reviews := newTestServer(t, existingProject("existing"))
			for range n {
				rec := do(t, s, "GET", tc.path, tc.token, "")
				require.Equal(t, tc.wantCode, rec.Code, rec.Body.String())
			}
			assert.Equal(t, tc.wantToken, reviews.TokenReviews(), "TokenReviews")
			assert.Equal(t, tc.wantSAR, reviews.SubjectAccessReviews(), "SubjectAccessReviews")
		})
	}
}

// TestCacheKeysOnTheRequest checks that a cached decision is only reused
// for the same question: another verb or another name is asked again.
func TestCacheKeysOnTheRequest(t *testing.T) {
	s, _, reviews := newTestServer(t, existingProject("a"), existingProject("b"))
	for _, path := range []string{"/api/v1/projects/a", "/api/v1/projects/b", "/api/v1/projects", "/api/v1/projects/a"} {
		rec := do(t, s, "GET", path, viewerToken, "")
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	}
	rec := do(t, s, "DELETE", "/api/v1/projects/a", viewerToken, "")
	require.Equal(t, http.StatusForbidden, rec.Code)
	assert.Equal(t, `user "viewer" cannot delete projects.primus.dev "a": no RBAC rule allows it`, decodeError(t, rec))
	assert.Equal(t, 1, reviews.TokenReviews())
	verbs := []string{}
	for _, a := range reviews.ResourceAttributes() {
		verbs = append(verbs, a.Verb+" "+a.Name)
	}
	assert.Equal(t, []string{"get a", "get b", "list ", "delete a"}, verbs)
}

// TestReviewFailures checks that a review the API server cannot answer
// is a 500, not a 401 or 403, and is not cached.
func TestReviewFailures(t *testing.T) {
	tests := []struct {
		name      string
		token     string
		warmToken bool // authenticate once before the failure, so only the SAR fails
		wantError string
	}{
		{name: "token review fails", token: viewerToken, wantError: "could not check the token"},
		{name: "subject access review fails", token: viewerToken, warmToken: true, wantError: "could not check permissions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _, reviews := newTestServer(t, existingProject("existing"))
			if tc.warmToken {
				// A request the cache will not answer for the SAR: another name.
				require.Equal(t, http.StatusNotFound, do(t, s, "GET", "/api/v1/projects/other", tc.token, "").Code)
			}
			reviews.Failing.Store(true)
			rec := do(t, s, "GET", "/api/v1/projects/existing", tc.token, "")
			require.Equal(t, http.StatusInternalServerError, rec.Code, rec.Body.String())
			assert.Contains(t, decodeError(t, rec), tc.wantError)

			reviews.Failing.Store(false)
			rec = do(t, s, "GET", "/api/v1/projects/existing", tc.token, "")
			assert.Equal(t, http.StatusOK, rec.Code, "the failure was not cached: %s", rec.Body.String())
		})
	}
}
