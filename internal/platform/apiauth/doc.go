// Package apiauth authenticates and authorizes the callers of Primus's API
// by delegating both questions to the Kubernetes API server, the way an
// aggregated API server does: a bearer token is checked with a TokenReview
// and a request with a SubjectAccessReview, through k8s.io/apiserver's
// delegating authenticator and authorizer, whose caches answer repeated
// questions for a TTL instead of asking the API server on every request.
//
// It returns the k8s.io/apiserver interfaces (authenticator.Request,
// authorizer.Authorizer), so the hand-written server in package api and a
// future k8s.io/apiserver generic server can use the same ones.
//
// It does not write responses or choose messages (package api does), and
// it knows nothing of Projects: the caller builds the attributes.
package apiauth
