// Package reviewtest is a stand-in Kubernetes API server for tests of
// code that delegates authentication and authorization: it answers
// TokenReviews and SubjectAccessReviews over real HTTP from two tables,
// records the SubjectAccessReviews and counts both, so a test can prove
// that answers are cached. It serves nothing else.
//
// It is for tests only.
package reviewtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Paths of the two review resources.
const (
	tokenReviewsPath         = "/apis/authentication.k8s.io/v1/tokenreviews"
	subjectAccessReviewsPath = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
)

// Allow decides a SubjectAccessReview: allowed, and a reason when not.
type Allow func(user string, attrs authorizationv1.ResourceAttributes) (bool, string)

// Server answers reviews. Users maps a token to its user name (member of
// system:authenticated); Allow decides access. Failing, while true, makes
// every review answer 500.
type Server struct {
	Users map[string]string
	Allow Allow
	// Failing makes every review answer 500 Internal Server Error.
	Failing atomic.Bool

	srv          *httptest.Server
	tokenReviews atomic.Int64
	sarCount     atomic.Int64
	mu           sync.Mutex
	sars         []authorizationv1.ResourceAttributes
}

// New starts a Server, stopped at the end of t.
func New(t testing.TB, users map[string]string, allow Allow) *Server {
	t.Helper()
	s := &Server{Users: users, Allow: allow}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+tokenReviewsPath, s.tokenReview)
	mux.HandleFunc("POST "+subjectAccessReviewsPath, s.subjectAccessReview)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// Config is a client configuration for the server, without client-side
// rate limit (as the binary's clients: QPS -1).
func (s *Server) Config() *rest.Config { return &rest.Config{Host: s.srv.URL, QPS: -1} }

// Clientset is a clientset on Config.
func (s *Server) Clientset(t testing.TB) kubernetes.Interface {
	t.Helper()
	kube, err := kubernetes.NewForConfig(s.Config())
	if err != nil {
		t.Fatalf("review clientset: %v", err)
	}
	return kube
}

// TokenReviews is the number of TokenReviews received.
func (s *Server) TokenReviews() int { return int(s.tokenReviews.Load()) }

// SubjectAccessReviews is the number of SubjectAccessReviews received.
func (s *Server) SubjectAccessReviews() int { return int(s.sarCount.Load()) }

// ResourceAttributes returns the resource attributes of every
// SubjectAccessReview received, oldest first.
func (s *Server) ResourceAttributes() []authorizationv1.ResourceAttributes {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]authorizationv1.ResourceAttributes(nil), s.sars...)
}

func (s *Server) tokenReview(w http.ResponseWriter, r *http.Request) {
	s.tokenReviews.Add(1)
	var tr authenticationv1.TokenReview
	if !s.decode(w, r, &tr) {
		return
	}
	if name, ok := s.Users[tr.Spec.Token]; ok {
		tr.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: authenticationv1.UserInfo{
			Username: name, Groups: []string{"system:authenticated"},
		}}
	} else {
		tr.Status = authenticationv1.TokenReviewStatus{Error: "invalid bearer token"}
	}
	write(w, "TokenReview", &tr)
}

func (s *Server) subjectAccessReview(w http.ResponseWriter, r *http.Request) {
	s.sarCount.Add(1)
	var sar authorizationv1.SubjectAccessReview
	if !s.decode(w, r, &sar) {
		return
	}
	var attrs authorizationv1.ResourceAttributes
	if sar.Spec.ResourceAttributes != nil {
		attrs = *sar.Spec.ResourceAttributes
	}
	s.mu.Lock()
	s.sars = append(s.sars, attrs)
	s.mu.Unlock()
	sar.Status.Allowed, sar.Status.Reason = s.Allow(sar.Spec.User, attrs)
	write(w, "SubjectAccessReview", &sar)
}

// decode reads the review, or answers 500 when Failing or 400.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if s.Failing.Load() {
		http.Error(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"failing on purpose","code":500}`, http.StatusInternalServerError)
		return false
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

// write answers 201 with the review, typed.
func write(w http.ResponseWriter, kind string, review any) {
	raw, err := json.Marshal(review)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var obj map[string]any
	_ = json.Unmarshal(raw, &obj)
	group := "authentication.k8s.io/v1"
	if kind == "SubjectAccessReview" {
		group = "authorization.k8s.io/v1"
	}
	obj["apiVersion"], obj["kind"] = group, kind
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(obj)
}
