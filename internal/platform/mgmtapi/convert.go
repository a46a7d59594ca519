package mgmtapi

import (
	mgmtv1 "github.com/primus-dev/primus/internal/platform/apis/management/v1alpha1"
	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// toView converts a stored Project into the caller's view of it, with the
// caller's role. managedFields stay out: they describe writes to the CRD,
// not to this API.
func toView(stored *primusv1.Project, role primusv1.Role) *mgmtv1.Project {
	p := stored.DeepCopy()
	out := &mgmtv1.Project{
		ObjectMeta: p.ObjectMeta,
		Spec:       mgmtv1.ProjectSpec{DisplayName: p.Spec.DisplayName, Quota: p.Spec.Quota},
		Status: mgmtv1.ProjectStatus{
			Role:               string(role),
			Phase:              string(p.Status.Phase),
			Namespace:          p.Status.Namespace,
			ObservedGeneration: p.Status.ObservedGeneration,
			Conditions:         p.Status.Conditions,
		},
	}
	out.APIVersion, out.Kind = mgmtv1.SchemeGroupVersion.String(), "Project"
	out.ManagedFields = nil
	for _, m := range p.Spec.Members {
		out.Spec.Members = append(out.Spec.Members, mgmtv1.Member{
			Kind: string(m.Kind), Name: m.Name, Namespace: m.Namespace, Role: string(m.Role),
		})
	}
	return out
}

// fromView converts what a caller sent into the Project to store: name,
// labels, annotations and spec; the status and the rest of the metadata
// belong to the cluster and the controller.
func fromView(in *mgmtv1.Project) *primusv1.Project {
	out := &primusv1.Project{}
	out.Name = in.Name
	out.Labels, out.Annotations = in.Labels, in.Annotations
	out.Spec.DisplayName = in.Spec.DisplayName
	out.Spec.Quota = in.DeepCopy().Spec.Quota
	for _, m := range in.Spec.Members {
		out.Spec.Members = append(out.Spec.Members, primusv1.Member{
			Kind: primusv1.MemberKind(m.Kind), Name: m.Name, Namespace: m.Namespace, Role: primusv1.Role(m.Role),
		})
	}
	return out
}
