package mgmtapi

import (
	"strings"

	apiextensionsopenapi "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/validation/spec"

	mgmtv1 "github.com/primus-dev/primus/internal/platform/apis/management/v1alpha1"
)

// openAPIDefinitions are the OpenAPI definitions of the management API:
// the management types, written here by hand (five small types, and the
// repository pins no openapi-gen), and the meta/v1 types every API server
// references (ObjectMeta, ListMeta, Status, DeleteOptions, WatchEvent,
// Condition...), taken from the definitions k8s.io/apiextensions-apiserver
// generates for itself.
func openAPIDefinitions(ref common.ReferenceCallback) map[string]common.OpenAPIDefinition {
	defs := map[string]common.OpenAPIDefinition{}
	for name, def := range apiextensionsopenapi.GetOpenAPIDefinitions(ref) {
		if strings.HasPrefix(name, "io.k8s.apimachinery.") {
			defs[name] = def
		}
	}
	for name, def := range managementDefinitions(ref) {
		defs[name] = def
	}
	return defs
}

func str(desc string) spec.Schema {
	return spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"string"}, Description: desc}}
}

func enum(desc string, values ...any) spec.Schema {
	s := str(desc)
	s.Enum = values
	return s
}

func object(desc string, required []string, props map[string]spec.Schema) spec.Schema {
	return spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"object"}, Description: desc, Required: required, Properties: props}}
}

func refTo(ref common.ReferenceCallback, name, desc string) spec.Schema {
	return spec.Schema{SchemaProps: spec.SchemaProps{Ref: ref(name), Description: desc}}
}

func arrayOf(desc string, items spec.Schema) spec.Schema {
	return spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"array"}, Description: desc, Items: &spec.SchemaOrArray{Schema: &items}}}
}

// managementDefinitions are the hand-written definitions of the
// management.primus.dev types; they mirror the primus.dev CRD's schema.
func managementDefinitions(ref common.ReferenceCallback) map[string]common.OpenAPIDefinition {
	objectMeta, listMeta, condition := metav1.ObjectMeta{}.OpenAPIModelName(), metav1.ListMeta{}.OpenAPIModelName(), metav1.Condition{}.OpenAPIModelName()
	member, pspec, pstatus := mgmtv1.Member{}.OpenAPIModelName(), mgmtv1.ProjectSpec{}.OpenAPIModelName(), mgmtv1.ProjectStatus{}.OpenAPIModelName()
	project := mgmtv1.Project{}.OpenAPIModelName()

	intOrString := spec.Schema{
		SchemaProps:      spec.SchemaProps{Type: []string{"string"}, Format: "int-or-string"},
		VendorExtensible: spec.VendorExtensible{Extensions: spec.Extensions{"x-kubernetes-int-or-string": true}},
	}
	quota := object("A ResourceQuota hard map: resource name to quantity.", nil, nil)
	quota.AdditionalProperties = &spec.SchemaOrBool{Allows: true, Schema: &intOrString}

	typeMeta := map[string]spec.Schema{
		"apiVersion": str("APIVersion defines the versioned schema of this representation of an object."),
		"kind":       str("Kind is a string value representing the REST resource this object represents."),
	}
	with := func(extra map[string]spec.Schema) map[string]spec.Schema {
		out := map[string]spec.Schema{}
		for k, v := range typeMeta {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	return map[string]common.OpenAPIDefinition{
		member: {Schema: object("Member grants one subject a role in the project namespace.", []string{"kind", "name", "role"}, map[string]spec.Schema{
			"kind":      enum("User, Group or ServiceAccount.", "User", "Group", "ServiceAccount"),
			"name":      str("The user, group or ServiceAccount name."),
			"namespace": str("The ServiceAccount's namespace; only for ServiceAccount."),
			"role":      enum("admin, edit or view.", "admin", "edit", "view"),
		})},
		pspec: {
			Schema: object("ProjectSpec is what a Project asks for.", nil, map[string]spec.Schema{
				"displayName": str("A human-readable name."),
				"members":     arrayOf("Members are bound to their role in the project namespace.", refTo(ref, member, "")),
				"quota":       quota,
			}),
			Dependencies: []string{member},
		},
		pstatus: {
			Schema: object("ProjectStatus is what the controller observed, and the caller's role.", nil, map[string]spec.Schema{
				"role":               enum("The caller's role in the project; empty for a caller who sees every project.", "admin", "edit", "view"),
				"phase":              enum("Pending, Ready, Failed or Terminating.", "Pending", "Ready", "Failed", "Terminating"),
				"namespace":          str("The project namespace."),
				"observedGeneration": {SchemaProps: spec.SchemaProps{Type: []string{"integer"}, Format: "int64", Description: "The generation the status describes."}},
				"conditions":         arrayOf("Conditions hold the Ready condition.", refTo(ref, condition, "")),
			}),
			Dependencies: []string{condition},
		},
		project: {
			Schema: object("A Project is a caller's view of a self-service namespace with member RoleBindings and a quota.", nil, with(map[string]spec.Schema{
				"metadata": refTo(ref, objectMeta, "Standard object metadata."),
				"spec":     refTo(ref, pspec, ""),
				"status":   refTo(ref, pstatus, ""),
			})),
			Dependencies: []string{objectMeta, pspec, pstatus},
		},
		mgmtv1.ProjectMembers{}.OpenAPIModelName(): {
			Schema: object("ProjectMembers is the members subresource of a Project: who has which role in it.", []string{"members"}, with(map[string]spec.Schema{
				"metadata": refTo(ref, objectMeta, "The Project's metadata."),
				"members":  arrayOf("Members are bound to their role in the project namespace.", refTo(ref, member, "")),
			})),
			Dependencies: []string{objectMeta, member},
		},
		mgmtv1.ProjectList{}.OpenAPIModelName(): {
			Schema: object("ProjectList is a list of Projects.", []string{"items"}, with(map[string]spec.Schema{
				"metadata": refTo(ref, listMeta, "Standard list metadata."),
				"items":    arrayOf("The Projects.", refTo(ref, project, "")),
			})),
			Dependencies: []string{listMeta, project},
		},
	}
}
