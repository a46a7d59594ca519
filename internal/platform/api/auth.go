package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/primus-dev/primus/internal/platform/apiauth"
	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// userKey is the context key of the authenticated caller.
type userKey struct{}

// userFrom returns the caller authenticate put in ctx.
func userFrom(ctx context.Context) user.Info {
	if u, ok := ctx.Value(userKey{}).(user.Info); ok {
		return u
	}
	return &user.DefaultInfo{}
}

// hasBearerToken reports whether r has an "Authorization: Bearer" header
// with a token.
func hasBearerToken(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(token) != ""
}

// authenticate wraps next so it only runs for a caller whose bearer token
// the Kubernetes API server accepts (opts.Authenticator, a cached
// TokenReview); anyone else gets 401, and 500 when the token could not be
// checked.
func (s *Server) authenticate(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hasBearerToken(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="primus"`)
			writeError(w, http.StatusUnauthorized, "authentication required: send a Kubernetes bearer token")
			return
		}
		resp, ok, err := s.opts.Authenticator.AuthenticateRequest(r)
		if apiauth.ReviewFailed(err) {
			s.log.Error("token review failed", "err", err)
			writeError(w, http.StatusInternalServerError, "could not check the token with the Kubernetes API server")
			return
		}
		if !ok || resp == nil || resp.User == nil {
			s.log.Debug("token rejected", "reason", fmt.Sprint(err))
			w.Header().Set("WWW-Authenticate", `Bearer realm="primus", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid token")
			return
		}
		if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
			info.user = resp.User.GetName()
		}
		next(w, r.WithContext(context.WithValue(r.Context(), userKey{}, resp.User)))
	})
}

// authorize asks the Kubernetes API server's authorizers, RBAC among them
// (opts.Authorizer, a cached SubjectAccessReview), whether the caller may
// do verb on projects (on the one called name, if set). It writes 403 or
// 500 and returns false when the answer is not yes.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, verb, name string) bool {
	u := userFrom(r.Context())
	decision, reason, err := s.opts.Authorizer.Authorize(r.Context(), authorizer.AttributesRecord{
		User:            u,
		Verb:            verb,
		APIGroup:        primusv1.GroupName,
		APIVersion:      primusv1.GroupVersion.Version,
		Resource:        primusv1.Resource,
		Name:            name,
		ResourceRequest: true,
	})
	if err != nil {
		s.log.Error("subject access review failed", "user", u.GetName(), "verb", verb, "err", err)
		writeError(w, http.StatusInternalServerError, "could not check permissions with the Kubernetes API server")
		return false
	}
	if decision != authorizer.DecisionAllow {
		msg := fmt.Sprintf("user %q cannot %s %s.%s", u.GetName(), verb, primusv1.Resource, primusv1.GroupName)
		if name != "" {
			msg = fmt.Sprintf("user %q cannot %s %s.%s %q", u.GetName(), verb, primusv1.Resource, primusv1.GroupName, name)
		}
		if reason != "" {
			msg += ": " + reason
		}
		writeError(w, http.StatusForbidden, msg)
		return false
	}
	return true
}
