package mgmtapi

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/endpoints/request"

	mgmtv1 "github.com/primus-dev/primus/internal/platform/apis/management/v1alpha1"
	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// projectsResource is the management resource, as errors name it.
var projectsResource = mgmtv1.SchemeGroupVersion.WithResource(mgmtv1.Resource).GroupResource()

// access answers, for one request, whether its caller may act on every
// primus.dev Project: the delegated authorizer (a cached
// SubjectAccessReview) decides, with the verb of the request.
type access struct {
	authz authorizer.Authorizer
}

// caller returns the authenticated user of ctx; the generic API server's
// filters put it there before any storage method runs.
func caller(ctx context.Context) (user.Info, error) {
	u, ok := request.UserFrom(ctx)
	if !ok {
		return nil, apierrors.NewUnauthorized("no user in the request")
	}
	return u, nil
}

// mayAll reports whether u may verb primus.dev projects (the one called
// name, if set) cluster-wide, without being a member.
func (a access) mayAll(ctx context.Context, u user.Info, verb, name string) (bool, error) {
	dec, _, err := a.authz.Authorize(ctx, authorizer.AttributesRecord{
		User: u, Verb: verb, ResourceRequest: true,
		APIGroup: primusv1.GroupName, APIVersion: primusv1.GroupVersion.Version,
		Resource: primusv1.Resource, Name: name,
	})
	if dec == authorizer.DecisionAllow {
		return true, nil
	}
	if err != nil {
		return false, apierrors.NewInternalError(fmt.Errorf("authorize %s projects.%s: %w", verb, primusv1.GroupName, err))
	}
	return false, nil
}

// forbidden is the error for a caller who is no member of project name
// (or whose role is too weak) and may not verb every Project.
func forbidden(u user.Info, verb, name, why string) error {
	return apierrors.NewForbidden(projectsResource, name, fmt.Errorf(
		"user %q %s, and cannot %s projects.%s cluster-wide", u.GetName(), why, verb, primusv1.GroupName))
}
