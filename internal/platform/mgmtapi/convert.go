package mgmtapi

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	mgmtv1 "github.com/primus-dev/primus/internal/platform/apis/management/v1alpha1"
	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// ManagedFieldsAnnotation is the annotation of a stored Project that keeps
// the view's managedFields: the field managers of writes through this API
// (server-side apply, update, patch), as JSON. The CRD's own managedFields
// describe writes to the CRD, in its schema, and cannot carry them: every
// write through the view reaches the CRD as this server's update. With the
// view's managers kept, a server-side apply through the API detects
// conflicts with another manager, as on a built-in resource. The view shows
// them as metadata.managedFields and hides the annotation.
const ManagedFieldsAnnotation = "management.primus.dev/managed-fields"

// toView converts a stored Project into the caller's view of it, with the
// caller's role. Its managedFields are the view's own, kept in
// ManagedFieldsAnnotation; the CRD's stay out.
func toView(stored *primusv1.Project, role primusv1.Role) *mgmtv1.Project {
	p := stored.DeepCopy()
	managed := viewManagedFields(p.Annotations)
	delete(p.Annotations, ManagedFieldsAnnotation)
	if len(p.Annotations) == 0 {
		p.Annotations = nil
	}
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
	out.ManagedFields = managed
	for _, m := range p.Spec.Members {
		out.Spec.Members = append(out.Spec.Members, mgmtv1.Member{
			Kind: string(m.Kind), Name: m.Name, Namespace: m.Namespace, Role: string(m.Role),
		})
	}
	return out
}

// fromView converts what a caller sent into the Project to store: name,
// labels, annotations, the view's managedFields (into
// ManagedFieldsAnnotation; a caller's own value of that annotation is not
// kept) and spec; the status and the rest of the metadata belong to the
// cluster and the controller.
func fromView(in *mgmtv1.Project) *primusv1.Project {
	out := &primusv1.Project{}
	out.Name = in.Name
	out.Labels, out.Annotations = in.Labels, withViewManagedFields(in.Annotations, in.ManagedFields)
	out.Spec.DisplayName = in.Spec.DisplayName
	out.Spec.Quota = in.DeepCopy().Spec.Quota
	for _, m := range in.Spec.Members {
		out.Spec.Members = append(out.Spec.Members, primusv1.Member{
			Kind: primusv1.MemberKind(m.Kind), Name: m.Name, Namespace: m.Namespace, Role: primusv1.Role(m.Role),
		})
	}
	return out
}

// membersPath is spec.members, the field the members subresource writes.
var membersPath = fieldpath.MakePathOrDie("spec", "members")

// withMembersManagers is annotations with the view's managers changed as a
// write of spec.members through the members subresource changes them on a
// built-in resource: every manager loses spec.members, and the managers of
// that write (subresourceManagers, the members subresource's own
// managedFields) own it, marked with the subresource. A later apply of
// other members is then a conflict with them, not a silent revert.
func withMembersManagers(annotations map[string]string, subresourceManagers []metav1.ManagedFieldsEntry) map[string]string {
	members := fieldpath.NewSet(membersPath)
	var managed []metav1.ManagedFieldsEntry
	for _, e := range viewManagedFields(annotations) {
		if e.FieldsV1 != nil {
			set := &fieldpath.Set{}
			if err := set.FromJSON(bytes.NewReader(e.FieldsV1.Raw)); err == nil {
				left := set.RecursiveDifference(members)
				if left.Empty() {
					continue
				}
				raw, err := left.ToJSON()
				if err != nil {
					continue
				}
				e.FieldsV1 = &metav1.FieldsV1{Raw: raw}
			}
		}
		managed = append(managed, e)
	}
	owned, _ := members.ToJSON()
	for _, e := range subresourceManagers {
		if e.Subresource != mgmtv1.MembersSubresource || e.Operation != metav1.ManagedFieldsOperationUpdate {
			continue
		}
		managed = slices.DeleteFunc(managed, func(m metav1.ManagedFieldsEntry) bool {
			return m.Manager == e.Manager && m.Operation == e.Operation && m.Subresource == e.Subresource
		})
		e.APIVersion, e.FieldsType, e.FieldsV1 = mgmtv1.SchemeGroupVersion.String(), "FieldsV1", &metav1.FieldsV1{Raw: owned}
		managed = append(managed, e)
	}
	return withViewManagedFields(annotations, managed)
}

// withViewManagedFields is a copy of annotations whose
// ManagedFieldsAnnotation holds managed (none when managed is empty),
// whatever value it had; nil when no annotation is left.
func withViewManagedFields(annotations map[string]string, managed []metav1.ManagedFieldsEntry) map[string]string {
	out := maps.Clone(annotations)
	delete(out, ManagedFieldsAnnotation)
	if len(managed) > 0 {
		if raw, err := json.Marshal(managed); err == nil {
			if out == nil {
				out = map[string]string{}
			}
			out[ManagedFieldsAnnotation] = string(raw)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// viewManagedFields decodes ManagedFieldsAnnotation; a value that does not
// decode (written to the CRD by hand) is read as no managers, as the
// generic server treats managedFields it cannot decode.
func viewManagedFields(annotations map[string]string) []metav1.ManagedFieldsEntry {
	raw, ok := annotations[ManagedFieldsAnnotation]
	if !ok {
		return nil
	}
	var managed []metav1.ManagedFieldsEntry
	if err := json.Unmarshal([]byte(raw), &managed); err != nil {
		return nil
	}
	return managed
}
