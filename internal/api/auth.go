package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	primusv1 "primus.dev/primus/internal/apis/primus/v1alpha1"
)

// userKey is the context key of the authenticated caller.
type userKey struct{}

// userFrom returns the caller authenticate put in ctx.
func userFrom(ctx context.Context) authenticationv1.UserInfo {
	u, _ := ctx.Value(userKey{}).(authenticationv1.UserInfo)
	return u
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// authenticate wraps next so it only runs for a caller whose bearer token
// the Kubernetes API server accepts (TokenReview); anyone else gets 401.
func (s *Server) authenticate(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="primus"`)
			writeError(w, http.StatusUnauthorized, "authentication required: send a Kubernetes bearer token")
			return
		}
		review, err := s.opts.Kube.AuthenticationV1().TokenReviews().Create(r.Context(), &authenticationv1.TokenReview{
			Spec: authenticationv1.TokenReviewSpec{Token: token},
		}, metav1.CreateOptions{})
		if err != nil {
			s.log.Error("token review failed", "err", err)
			writeError(w, http.StatusInternalServerError, "could not check the token with the Kubernetes API server")
			return
		}
		if !review.Status.Authenticated {
			w.Header().Set("WWW-Authenticate", `Bearer realm="primus", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid token")
			return
		}
		if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
			info.user = review.Status.User.Username
		}
		next(w, r.WithContext(context.WithValue(r.Context(), userKey{}, review.Status.User)))
	})
}

// authorize asks Kubernetes RBAC (SubjectAccessReview) whether the caller
// may do verb on projects (on the one called name, if set). It writes 403
// or 500 and returns false when the answer is not yes.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, verb, name string) bool {
	user := userFrom(r.Context())
	extra := make(map[string]authorizationv1.ExtraValue, len(user.Extra))
	for k, v := range user.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	sar, err := s.opts.Kube.AuthorizationV1().SubjectAccessReviews().Create(r.Context(), &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   user.Username,
			UID:    user.UID,
			Groups: user.Groups,
			Extra:  extra,
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Group:    primusv1.GroupName,
				Version:  primusv1.GroupVersion.Version,
				Resource: primusv1.Resource,
				Verb:     verb,
				Name:     name,
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		s.log.Error("subject access review failed", "user", user.Username, "verb", verb, "err", err)
		writeError(w, http.StatusInternalServerError, "could not check permissions with the Kubernetes API server")
		return false
	}
	if !sar.Status.Allowed {
		msg := fmt.Sprintf("user %q cannot %s %s.%s", user.Username, verb, primusv1.Resource, primusv1.GroupName)
		if name != "" {
			msg = fmt.Sprintf("user %q cannot %s %s.%s %q", user.Username, verb, primusv1.Resource, primusv1.GroupName, name)
		}
		if sar.Status.Reason != "" {
			msg += ": " + sar.Status.Reason
		}
		writeError(w, http.StatusForbidden, msg)
		return false
	}
	return true
}
