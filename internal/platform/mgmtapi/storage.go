package mgmtapi

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/registry/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	mgmtv1 "github.com/primus-dev/primus/internal/platform/apis/management/v1alpha1"
	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// projectStorage is the REST storage of management projects: a view over
// primus.dev Projects, read and written with the replica's client.
type projectStorage struct {
	projects client.WithWatch
	access   access
	tableConvertor
}

// The interfaces the generic API server looks for.
var (
	_ rest.Storage              = (*projectStorage)(nil)
	_ rest.Scoper               = (*projectStorage)(nil)
	_ rest.SingularNameProvider = (*projectStorage)(nil)
	_ rest.Getter               = (*projectStorage)(nil)
	_ rest.Lister               = (*projectStorage)(nil)
	_ rest.Watcher              = (*projectStorage)(nil)
	_ rest.Creater              = (*projectStorage)(nil)
	_ rest.GracefulDeleter      = (*projectStorage)(nil)
	_ rest.Patcher              = (*projectStorage)(nil)
	_ rest.ResetFieldsStrategy  = (*projectStorage)(nil)
)

// GetResetFields names the fields a write through the view does not set:
// the status, which belongs to the controller (and the caller's role).
// Server-side apply then neither records nor reports them as the
// applier's.
func (s *projectStorage) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		fieldpath.APIVersion(mgmtv1.SchemeGroupVersion.String()): fieldpath.NewSet(fieldpath.MakePathOrDie("status")),
	}
}

// New returns an empty Project.
func (s *projectStorage) New() runtime.Object { return &mgmtv1.Project{} }

// NewList returns an empty ProjectList.
func (s *projectStorage) NewList() runtime.Object { return &mgmtv1.ProjectList{} }

// Destroy has nothing to release: the client is the caller's.
func (s *projectStorage) Destroy() {}

// NamespaceScoped is false: Projects are cluster-scoped, as the CRD is.
func (s *projectStorage) NamespaceScoped() bool { return false }

// GetSingularName is the singular name discovery shows.
func (s *projectStorage) GetSingularName() string { return "project" }

// Get returns Project name to a member, or to a caller who may get every
// Project; anyone else is forbidden, whether or not it exists.
func (s *projectStorage) Get(ctx context.Context, name string, opts *metav1.GetOptions) (runtime.Object, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var rv string
	if opts != nil {
		rv = opts.ResourceVersion
	}
	p, role, err := s.getVisible(ctx, u, "get", name, rv)
	if err != nil {
		return nil, err
	}
	return toView(p, role), nil
}

// getVisible reads Project name for u and its role: a member sees it, a
// caller allowed to verb every Project sees it (and its absence); to
// anyone else it is forbidden.
func (s *projectStorage) getVisible(ctx context.Context, u user.Info, verb, name, rv string) (*primusv1.Project, primusv1.Role, error) {
	var p primusv1.Project
	var opts []client.GetOption
	if rv != "" {
		opts = append(opts, &client.GetOptions{Raw: &metav1.GetOptions{ResourceVersion: rv}})
	}
	getErr := s.projects.Get(ctx, client.ObjectKey{Name: name}, &p, opts...)
	if getErr != nil && !apierrors.IsNotFound(getErr) {
		return nil, "", translate(getErr, name)
	}
	role := RoleOf(&p, u)
	if getErr == nil && role != "" {
		return &p, role, nil
	}
	all, err := s.access.mayAll(ctx, u, verb, name)
	if err != nil {
		return nil, "", err
	}
	if !all {
		return nil, "", forbidden(u, verb, name, "is not a member of the project")
	}
	if getErr != nil {
		return nil, "", translate(getErr, name)
	}
	return &p, role, nil
}

// List returns the Projects the caller is a member of, or every Project
// for a caller who may list them all, each with the caller's role. The
// label selector, limit and continue token go to the CRD list; the field
// selector (metadata.name, status.phase, status.role) is applied here, so
// a page may hold fewer than limit items.
func (s *projectStorage) List(ctx context.Context, opts *metainternalversion.ListOptions) (runtime.Object, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	all, err := s.access.mayAll(ctx, u, "list", "")
	if err != nil {
		return nil, err
	}
	var list primusv1.ProjectList
	if err := s.projects.List(ctx, &list, crdListOptions(opts)); err != nil {
		return nil, translate(err, "")
	}
	f := newFilter(u, all, opts)
	out := &mgmtv1.ProjectList{ListMeta: metav1.ListMeta{ResourceVersion: list.ResourceVersion, Continue: list.Continue}}
	out.APIVersion, out.Kind = mgmtv1.SchemeGroupVersion.String(), "ProjectList"
	out.Items = []mgmtv1.Project{}
	for i := range list.Items {
		if v, ok := f.view(&list.Items[i]); ok {
			out.Items = append(out.Items, *v)
		}
	}
	if all && f.fields.Empty() {
		out.RemainingItemCount = list.RemainingItemCount
	}
	return out, nil
}

// Watch proxies a watch of the CRD, filtered and converted as List is:
// see filteredWatch.
func (s *projectStorage) Watch(ctx context.Context, opts *metainternalversion.ListOptions) (watch.Interface, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	all, err := s.access.mayAll(ctx, u, "watch", "")
	if err != nil {
		return nil, err
	}
	upstream, err := s.projects.Watch(ctx, &primusv1.ProjectList{}, crdListOptions(opts))
	if err != nil {
		return nil, translate(err, "")
	}
	return newFilteredWatch(upstream, newFilter(u, all, opts)), nil
}

// Create validates the Project as the platform does and creates it. Who
// may create is the management API's RBAC (create on
// projects.management.primus.dev), checked before this runs: that is the
// self-service permission a platform grants.
func (s *projectStorage) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, opts *metav1.CreateOptions) (runtime.Object, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	in, ok := obj.(*mgmtv1.Project)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a Project: %T", obj))
	}
	if err := reservedAnnotation(in); err != nil {
		return nil, err
	}
	if createValidation != nil {
		if err := createValidation(ctx, obj); err != nil {
			return nil, err
		}
	}
	p := fromView(in)
	if err := invalid(p); err != nil {
		return nil, err
	}
	var copts []client.CreateOption
	if opts != nil && len(opts.DryRun) > 0 {
		copts = append(copts, client.DryRunAll)
	}
	if err := s.projects.Create(ctx, p, copts...); err != nil {
		return nil, translate(err, p.Name)
	}
	return toView(p, RoleOf(p, u)), nil
}

// Update replaces the labels, annotations and spec of Project name (PUT,
// and PATCH through the generic server, which applies the patch to the
// caller's view) for an admin member, or for a caller who may update every
// Project. A patch is applied to the latest version; a PUT whose
// metadata.resourceVersion is no longer the latest is a conflict, as on the
// CRD (see guaranteedUpdate). Server-side apply patches come here too, applied
// by the generic server's field manager to the view, whose managedFields
// are kept in ManagedFieldsAnnotation, so an apply detects conflicts with
// the view's other managers.
func (s *projectStorage) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc,
	updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, opts *metav1.UpdateOptions) (runtime.Object, bool, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, false, err
	}
	if forceAllowCreate {
		if created, ok, err := s.createOnApply(ctx, name, objInfo, createValidation, opts); ok {
			return created, err == nil, err
		}
	}
	obj, err := s.guaranteedUpdate(ctx, u, name, func(p *primusv1.Project, role primusv1.Role) (string, error) {
		old := toView(p, role)
		obj, err := objInfo.UpdatedObject(ctx, old)
		if err != nil {
			return "", err
		}
		in, ok := obj.(*mgmtv1.Project)
		if !ok {
			return "", apierrors.NewBadRequest(fmt.Sprintf("not a Project: %T", obj))
		}
		if in.Name != name {
			return "", apierrors.NewBadRequest(fmt.Sprintf("metadata.name %q does not match the name in the URL, %q", in.Name, name))
		}
		if err := reservedAnnotation(in); err != nil {
			return "", err
		}
		if updateValidation != nil {
			if err := updateValidation(ctx, in, old); err != nil {
				return "", err
			}
		}
		want := fromView(in)
		p.Labels, p.Annotations, p.Spec = want.Labels, want.Annotations, want.Spec
		return in.ResourceVersion, nil
	}, opts)
	if err != nil {
		return nil, false, err
	}
	return toView(obj, RoleOf(obj, u)), false, nil
}

// createOnApply creates Project name from a server-side apply (the
// generic server asks with forceAllowCreate) when it does not exist yet,
// as the registry's store does: the applied configuration on an empty
// Project, created with the create authorization the patch handler puts in
// createValidation. ok is false when the Project exists, also when another
// writer created it meanwhile: the apply is then an update. It is false
// too when the caller may not create: the update then refuses a
// non-member as for a Project that exists, so an apply does not tell
// whether one does.
func (s *projectStorage) createOnApply(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo,
	createValidation rest.ValidateObjectFunc, opts *metav1.UpdateOptions) (obj runtime.Object, ok bool, err error) {
	err = s.projects.Get(ctx, client.ObjectKey{Name: name}, &primusv1.Project{})
	if err == nil {
		return nil, false, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, true, translate(err, name)
	}
	obj, err = objInfo.UpdatedObject(ctx, &mgmtv1.Project{})
	if err != nil {
		return nil, true, err
	}
	if in, isProject := obj.(*mgmtv1.Project); isProject && in.Name != name {
		return nil, true, apierrors.NewBadRequest(fmt.Sprintf("metadata.name %q does not match the name in the URL, %q", in.Name, name))
	}
	if createValidation != nil {
		if err := createValidation(ctx, obj); err != nil {
			if apierrors.IsForbidden(err) {
				return nil, false, nil
			}
			return nil, true, err
		}
	}
	copts := &metav1.CreateOptions{}
	if opts != nil {
		copts.DryRun, copts.FieldManager = opts.DryRun, opts.FieldManager
	}
	obj, err = s.Create(ctx, obj, nil, copts) // validated above
	if apierrors.IsAlreadyExists(err) {
		return nil, false, nil
	}
	return obj, true, err
}

// maxUpdateAttempts bounds guaranteedUpdate's attempts.
const maxUpdateAttempts = 5

// guaranteedUpdate changes Project name for u as the registry's
// GuaranteedUpdate changes a built-in object: it reads the latest Project
// (u must see it and be an admin member, or may update every Project),
// has change apply the caller's update to it, and writes it conditional
// on the version it read; when another writer came first (the controller
// writes finalizers and status all the time) it starts again from the new
// version, so a patch is applied to the latest object. change returns the
// resourceVersion the caller's object carries: a caller's own precondition
// (a PUT with the version it read) that the latest version no longer
// matches is a conflict, not retried.
func (s *projectStorage) guaranteedUpdate(ctx context.Context, u user.Info, name string,
	change func(p *primusv1.Project, role primusv1.Role) (string, error), opts *metav1.UpdateOptions) (*primusv1.Project, error) {
	for attempt := 1; ; attempt++ {
		p, role, err := s.getVisible(ctx, u, "update", name, "")
		if err != nil {
			return nil, err
		}
		if err := s.requireAdmin(ctx, u, "update", name, role); err != nil {
			return nil, err
		}
		current := p.ResourceVersion
		precondition, err := change(p, role)
		if err != nil {
			return nil, err
		}
		if precondition != "" && precondition != current {
			return nil, apierrors.NewConflict(projectsResource, name, fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
		}
		p.ResourceVersion = current
		err = s.write(ctx, p, opts)
		if err == nil || !apierrors.IsConflict(err) || attempt == maxUpdateAttempts {
			return p, err
		}
	}
}

// write stores the changed Project p, conditional on its resourceVersion,
// validated as the CRD would, dry-run when asked.
func (s *projectStorage) write(ctx context.Context, p *primusv1.Project, opts *metav1.UpdateOptions) error {
	if err := invalid(p); err != nil {
		return err
	}
	var uopts []client.UpdateOption
	if opts != nil && len(opts.DryRun) > 0 {
		uopts = append(uopts, client.DryRunAll)
	}
	if err := s.projects.Update(ctx, p, uopts...); err != nil {
		return translate(err, p.Name)
	}
	return nil
}

// requireAdmin lets a write through for an admin member; a view or edit
// member (let through getVisible by membership) needs the cluster-wide
// permission instead.
func (s *projectStorage) requireAdmin(ctx context.Context, u user.Info, verb, name string, role primusv1.Role) error {
	if role == "" || role == primusv1.RoleAdmin {
		return nil
	}
	all, err := s.access.mayAll(ctx, u, verb, name)
	if err != nil {
		return err
	}
	if !all {
		return forbidden(u, verb, name, "has role "+string(role)+" in the project, not admin")
	}
	return nil
}

// Delete deletes Project name for an admin member, or for a caller who may
// delete every Project. The Project stays (Terminating) until the
// controller has removed its namespace; Delete then reports it as not yet
// deleted and returns it with its deletionTimestamp, as Kubernetes does.
func (s *projectStorage) Delete(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc, opts *metav1.DeleteOptions) (runtime.Object, bool, error) {
	u, err := caller(ctx)
	if err != nil {
		return nil, false, err
	}
	if opts == nil {
		opts = &metav1.DeleteOptions{}
	}
	p, role, err := s.getVisible(ctx, u, "delete", name, "")
	if err != nil {
		return nil, false, err
	}
	if err := s.requireAdmin(ctx, u, "delete", name, role); err != nil {
		return nil, false, err
	}
	if deleteValidation != nil {
		if err := deleteValidation(ctx, toView(p, role)); err != nil {
			return nil, false, err
		}
	}
	del := &client.DeleteOptions{Raw: opts.DeepCopy()}
	if del.Raw.Preconditions == nil {
		// Delete exactly the Project that was checked.
		del.Raw.Preconditions = &metav1.Preconditions{UID: &p.UID}
	}
	if err := s.projects.Delete(ctx, p, del); err != nil {
		return nil, false, translate(err, name)
	}
	if len(opts.DryRun) > 0 {
		return toView(p, role), false, nil
	}
	var after primusv1.Project
	switch err := s.projects.Get(ctx, client.ObjectKey{Name: name}, &after); {
	case apierrors.IsNotFound(err):
		return toView(p, role), true, nil
	case err != nil:
		return nil, false, translate(err, name)
	}
	return toView(&after, role), false, nil
}

// reservedAnnotation refuses a Project a caller sent with
// ManagedFieldsAnnotation: the view keeps its managers there, so a value of
// the caller's could not be stored.
func reservedAnnotation(in *mgmtv1.Project) error {
	if _, ok := in.Annotations[ManagedFieldsAnnotation]; !ok {
		return nil
	}
	return apierrors.NewInvalid(mgmtv1.SchemeGroupVersion.WithKind("Project").GroupKind(), in.Name, field.ErrorList{
		field.Forbidden(field.NewPath("metadata", "annotations").Key(ManagedFieldsAnnotation),
			"reserved: the management API keeps the field managers of its Projects there (see metadata.managedFields)"),
	})
}

// invalid returns the Invalid error of p's problems, or nil.
func invalid(p *primusv1.Project) error {
	err := p.Validate()
	if err == nil {
		return nil
	}
	var errs primusv1.ValidationErrors
	if !errors.As(err, &errs) {
		return apierrors.NewBadRequest(err.Error())
	}
	list := make(field.ErrorList, 0, len(errs))
	for _, e := range errs {
		list = append(list, &field.Error{Type: field.ErrorTypeInvalid, Field: e.Field, Detail: e.Message, BadValue: field.OmitValueType{}})
	}
	return apierrors.NewInvalid(mgmtv1.SchemeGroupVersion.WithKind("Project").GroupKind(), p.Name, list)
}

// crdListOptions carries a request's list or watch options to the CRD: all
// but the field selector, which filter applies.
func crdListOptions(opts *metainternalversion.ListOptions) *client.ListOptions {
	raw := &metav1.ListOptions{}
	out := &client.ListOptions{Raw: raw}
	if opts == nil {
		return out
	}
	if opts.LabelSelector != nil && !opts.LabelSelector.Empty() {
		out.LabelSelector = opts.LabelSelector
	}
	raw.ResourceVersion = opts.ResourceVersion
	raw.ResourceVersionMatch = opts.ResourceVersionMatch
	raw.TimeoutSeconds = opts.TimeoutSeconds
	raw.AllowWatchBookmarks = opts.AllowWatchBookmarks
	raw.SendInitialEvents = opts.SendInitialEvents
	out.Limit, out.Continue = opts.Limit, opts.Continue
	return out
}

// filter decides which Projects a caller sees and converts them.
type filter struct {
	user   user.Info
	all    bool // the caller may see every Project
	labels labels.Selector
	fields fields.Selector
}

func newFilter(u user.Info, all bool, opts *metainternalversion.ListOptions) filter {
	f := filter{user: u, all: all, labels: labels.Everything(), fields: fields.Everything()}
	if opts != nil && opts.LabelSelector != nil {
		f.labels = opts.LabelSelector
	}
	if opts != nil && opts.FieldSelector != nil {
		f.fields = opts.FieldSelector
	}
	return f
}

// view returns the caller's view of p, and whether the caller sees it.
func (f filter) view(p *primusv1.Project) (*mgmtv1.Project, bool) {
	role := RoleOf(p, f.user)
	if !f.all && role == "" {
		return nil, false
	}
	if !f.labels.Matches(labels.Set(p.Labels)) {
		return nil, false
	}
	if !f.fields.Matches(fields.Set{"metadata.name": p.Name, "status.phase": string(p.Status.Phase), "status.role": string(role)}) {
		return nil, false
	}
	return toView(p, role), true
}
