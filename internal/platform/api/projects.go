package api

import (
	"errors"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// projectsPath is the collection URL; a project is projectsPath/<name>.
const projectsPath = "/api/v1/projects"

// forResponse returns p as the API shows it: with apiVersion and kind, and
// without managedFields, which are noise to an API user.
func forResponse(p *primusv1.Project) *primusv1.Project {
	out := p.DeepCopy()
	out.APIVersion = primusv1.GroupVersion.String()
	out.Kind = "Project"
	out.ManagedFields = nil
	return out
}

// listProjects answers GET /api/v1/projects.
func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r, "list", "") {
		return
	}
	var list primusv1.ProjectList
	if err := s.opts.Projects.List(r.Context(), &list); err != nil {
		writeKubeError(w, s.log, "", err)
		return
	}
	out := primusv1.ProjectList{
		TypeMeta: metav1.TypeMeta{APIVersion: primusv1.GroupVersion.String(), Kind: "ProjectList"},
		ListMeta: metav1.ListMeta{ResourceVersion: list.ResourceVersion},
		Items:    make([]primusv1.Project, 0, len(list.Items)),
	}
	for i := range list.Items {
		out.Items = append(out.Items, *forResponse(&list.Items[i]))
	}
	writeJSON(w, http.StatusOK, out)
}

// getProject answers GET /api/v1/projects/{name}.
func (s *Server) getProject(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !s.authorize(w, r, "get", name) {
		return
	}
	var p primusv1.Project
	if err := s.opts.Projects.Get(r.Context(), client.ObjectKey{Name: name}, &p); err != nil {
		writeKubeError(w, s.log, name, err)
		return
	}
	writeJSON(w, http.StatusOK, forResponse(&p))
}

// createProject answers POST /api/v1/projects with 201 and the Project.
// The body is a Project; only metadata.name, labels, annotations and spec
// are taken from it.
func (s *Server) createProject(w http.ResponseWriter, r *http.Request) {
	var in primusv1.Project
	if err := decodeBody(w, r, &in); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !s.authorize(w, r, "create", "") {
		return
	}
	// The cleanup finalizer comes with the Project, so the controller's
	// first reconcile need not write the Project once more to add it.
	p := &primusv1.Project{
		ObjectMeta: metav1.ObjectMeta{Name: in.Name, Labels: in.Labels, Annotations: in.Annotations, Finalizers: []string{primusv1.FinalizerCleanup}},
		Spec:       in.Spec,
	}
	if !validate(w, p) {
		return
	}
	if err := s.opts.Projects.Create(r.Context(), p); err != nil {
		writeKubeError(w, s.log, p.Name, err)
		return
	}
	s.log.Info("project created", "project", p.Name, "user", userFrom(r.Context()).GetName())
	w.Header().Set("Location", projectsPath+"/"+p.Name)
	writeJSON(w, http.StatusCreated, forResponse(p))
}

// updateProject answers PUT /api/v1/projects/{name}: it replaces the spec
// (and labels and annotations, when the body has them). With
// metadata.resourceVersion in the body the update is conditional and a
// concurrent change answers 409; without, the last writer wins.
func (s *Server) updateProject(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var in primusv1.Project
	if err := decodeBody(w, r, &in); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !s.authorize(w, r, "update", name) {
		return
	}
	if in.Name != "" && in.Name != name {
		writeInvalid(w, primusv1.ValidationErrors{{Field: "metadata.name", Message: fmt.Sprintf("must be %q, the name in the URL, or empty", name)}})
		return
	}
	in.Name = name
	if !validate(w, &in) {
		return
	}

	var p primusv1.Project
	update := func() error {
		if err := s.opts.Projects.Get(r.Context(), client.ObjectKey{Name: name}, &p); err != nil {
			return err
		}
		if in.ResourceVersion != "" && in.ResourceVersion != p.ResourceVersion {
			return apierrors.NewConflict(primusv1.GroupVersion.WithResource(primusv1.Resource).GroupResource(), name,
				errors.New("resourceVersion does not match"))
		}
		p.Spec = in.Spec
		if in.Labels != nil {
			p.Labels = in.Labels
		}
		if in.Annotations != nil {
			p.Annotations = in.Annotations
		}
		return s.opts.Projects.Update(r.Context(), &p)
	}
	var err error
	if in.ResourceVersion != "" {
		err = update()
	} else {
		err = retry.RetryOnConflict(retry.DefaultRetry, update)
	}
	if err != nil {
		writeKubeError(w, s.log, name, err)
		return
	}
	s.log.Info("project updated", "project", name, "user", userFrom(r.Context()).GetName())
	writeJSON(w, http.StatusOK, forResponse(&p))
}

// deleteProject answers DELETE /api/v1/projects/{name} with 202 and the
// Project: deletion finishes when the controller has removed the namespace.
func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if !s.authorize(w, r, "delete", name) {
		return
	}
	var p primusv1.Project
	if err := s.opts.Projects.Get(r.Context(), client.ObjectKey{Name: name}, &p); err != nil {
		writeKubeError(w, s.log, name, err)
		return
	}
	if err := s.opts.Projects.Delete(r.Context(), &p, client.Preconditions{UID: &p.UID}); err != nil {
		writeKubeError(w, s.log, name, err)
		return
	}
	// Show the deletion timestamp when the finalizer holds the Project.
	if err := s.opts.Projects.Get(r.Context(), client.ObjectKey{Name: name}, &p); client.IgnoreNotFound(err) != nil {
		s.log.Warn("read project after delete", "project", name, "err", err)
	}
	s.log.Info("project deleted", "project", name, "user", userFrom(r.Context()).GetName())
	writeJSON(w, http.StatusAccepted, forResponse(&p))
}

// validate writes 400 and returns false when p is invalid.
func validate(w http.ResponseWriter, p *primusv1.Project) bool {
	err := p.Validate()
	if err == nil {
		return true
	}
	var errs primusv1.ValidationErrors
	if errors.As(err, &errs) {
		writeInvalid(w, errs)
	} else {
		writeError(w, http.StatusBadRequest, err.Error())
	}
	return false
}
