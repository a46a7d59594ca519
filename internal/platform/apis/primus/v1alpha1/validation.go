package v1alpha1

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// FieldError is one invalid field of a Project: the field path as the
// JSON names it (spec.members[0].role) and what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error formats e as "field: message".
func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// ValidationErrors are all the problems of one Project, in field order.
type ValidationErrors []FieldError

// Error joins the problems with "; ".
func (errs ValidationErrors) Error() string {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// Validate checks what the CRD schema cannot: that the name makes a valid
// namespace name, that members are well-formed and unique, and that quota
// keys are resource names and values are quantities. It returns nil when p
// is valid. The API server rejects invalid Projects with it; the controller
// marks Projects created around the API as Failed with it.
func (p *Project) Validate() error {
	var errs ValidationErrors
	add := func(path *field.Path, format string, args ...any) {
		errs = append(errs, FieldError{Field: path.String(), Message: fmt.Sprintf(format, args...)})
	}

	name := field.NewPath("metadata", "name")
	switch {
	case p.Name == "":
		add(name, "must be set")
	case len(p.Name) > MaxNameLength:
		add(name, "must be at most %d characters (the namespace is %s<name>)", MaxNameLength, NamespacePrefix)
	case len(validation.IsDNS1123Label(p.Name)) > 0:
		add(name, "must be a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit")
	}

	spec := field.NewPath("spec")
	if len(p.Spec.DisplayName) > 253 {
		add(spec.Child("displayName"), "must be at most 253 characters")
	}
	seen := map[Member]int{}
	for i, m := range p.Spec.Members {
		path := spec.Child("members").Index(i)
		for _, e := range validateMember(m) {
			add(path.Child(e.Field), "%s", e.Message)
		}
		subject := Member{Kind: m.Kind, Namespace: m.Namespace, Name: m.Name}
		if j, dup := seen[subject]; dup {
			add(path, "duplicates spec.members[%d]: give each subject one role", j)
		} else {
			seen[subject] = i
		}
	}
	for _, key := range sortedKeys(p.Spec.Quota) {
		path := spec.Child("quota").Key(key)
		if msgs := validation.IsQualifiedName(key); len(msgs) > 0 {
			add(path, "is not a resource name: %s", msgs[0])
			continue
		}
		v := p.Spec.Quota[key]
		q, err := resource.ParseQuantity(v.String())
		if err != nil {
			add(path, "must be a quantity such as 10, 4Gi or 500m, got %q", v.String())
			continue
		}
		if q.Sign() < 0 {
			add(path, "must not be negative")
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// validateMember returns the problems of one member, with fields relative
// to the member.
func validateMember(m Member) []FieldError {
	var errs []FieldError
	switch m.Kind {
	case MemberUser, MemberGroup:
		if m.Namespace != "" {
			errs = append(errs, FieldError{"namespace", "must be empty unless kind is ServiceAccount"})
		}
	case MemberServiceAccount:
		if m.Namespace == "" {
			errs = append(errs, FieldError{"namespace", "must be set for a ServiceAccount"})
		} else if msgs := validation.IsDNS1123Label(m.Namespace); len(msgs) > 0 {
			errs = append(errs, FieldError{"namespace", "must be a namespace name: " + msgs[0]})
		}
	default:
		errs = append(errs, FieldError{"kind", "must be User, Group or ServiceAccount"})
	}
	switch {
	case m.Name == "":
		errs = append(errs, FieldError{"name", "must be set"})
	case m.Kind == MemberServiceAccount && len(validation.IsDNS1123Subdomain(m.Name)) > 0:
		errs = append(errs, FieldError{"name", "must be a ServiceAccount name: " + validation.IsDNS1123Subdomain(m.Name)[0]})
	}
	switch m.Role {
	case RoleAdmin, RoleEdit, RoleView:
	default:
		errs = append(errs, FieldError{"role", "must be admin, edit or view"})
	}
	return errs
}
