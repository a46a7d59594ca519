package mgmtapi

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"

	mgmtv1 "github.com/primus-dev/primus/internal/platform/apis/management/v1alpha1"
	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// membersStorage is the REST storage of projects/{name}/members: get,
// update and patch (the generic server patches what Get returns, then
// calls Update). The generic server's authorization filter has already
// asked the cluster whether the caller may do so on projects/members,
// exactly as for a built-in subresource; the storage then asks what the
// Project itself does: a member sees the members, and changing them takes
// the admin role in the project, or the cluster-wide permission to update
// primus.dev projects.
type membersStorage struct {
	projects *projectStorage
}

var (
	_ rest.Storage = (*membersStorage)(nil)
	_ rest.Scoper  = (*membersStorage)(nil)
	_ rest.Getter  = (*membersStorage)(nil)
	_ rest.Updater = (*membersStorage)(nil)
)

// New returns an empty ProjectMembers.
func (s *membersStorage) New() runtime.Object { return &mgmtv1.ProjectMembers{} }

// Destroy has nothing to release.
func (s *membersStorage) Destroy() {}

// NamespaceScoped is false, as for projects.
func (s *membersStorage) NamespaceScoped() bool { return false }

// Get returns the members of Project name to whoever may get the Project.
func (s *membersStorage) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	p, _, err := s.projects.getVisible(ctx, u, "get", name, "")
	if err != nil {
		return nil, err
	}
	return toMembers(p), nil
}

// Update replaces the members of Project name for an admin member, or for
// a caller who may update every Project, leaving the rest of the Project
// as it is. A patch is applied to the latest version; a PUT whose
// metadata.resourceVersion is no longer the latest is a conflict (see
// guaranteedUpdate).
func (s *membersStorage) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, _ rest.ValidateObjectFunc,
	updateValidation rest.ValidateObjectUpdateFunc, _ bool, opts *metav1.UpdateOptions) (runtime.Object, bool, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, false, err
	}
	p, err := s.projects.guaranteedUpdate(ctx, u, name, func(p *primusv1.Project, _ primusv1.Role) (string, error) {
		old := toMembers(p)
		// The field manager records an update's manager only on an object
		// that has managers: it is given the Project's, and this write's
		// entry is taken from what it returns (withMembersManagers).
		old.ManagedFields = viewManagedFields(p.Annotations)
		obj, err := objInfo.UpdatedObject(ctx, old)
		if err != nil {
			return "", err
		}
		in, ok := obj.(*mgmtv1.ProjectMembers)
		if !ok {
			return "", apierrors.NewBadRequest(fmt.Sprintf("not a ProjectMembers: %T", obj))
		}
		if in.Name != "" && in.Name != name {
			return "", apierrors.NewBadRequest(fmt.Sprintf("metadata.name %q does not match the name in the URL, %q", in.Name, name))
		}
		if updateValidation != nil {
			if err := updateValidation(ctx, in, old); err != nil {
				return "", err
			}
		}
		members := fromView(&mgmtv1.Project{Spec: mgmtv1.ProjectSpec{Members: in.Members}}).Spec.Members
		if !equality.Semantic.DeepEqual(members, p.Spec.Members) {
			p.Annotations = withMembersManagers(p.Annotations, in.ManagedFields)
		}
		p.Spec.Members = members
		return in.ResourceVersion, nil
	}, opts)
	if err != nil {
		return nil, false, err
	}
	return toMembers(p), false, nil
}

// toMembers is the members subresource of a stored Project.
func toMembers(p *primusv1.Project) *mgmtv1.ProjectMembers {
	view := toView(p, "")
	// The Project's managedFields describe the Project's fields, not this
	// subresource's: the subresource shows none. (Update hands them to the
	// field manager and records its write's manager on the Project: see
	// withMembersManagers.)
	view.ManagedFields = nil
	out := &mgmtv1.ProjectMembers{ObjectMeta: view.ObjectMeta, Members: view.Spec.Members}
	out.APIVersion, out.Kind = mgmtv1.SchemeGroupVersion.String(), "ProjectMembers"
	if out.Members == nil {
		out.Members = []mgmtv1.Member{}
	}
	return out
}
