package mgmtapi

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"

	mgmtv1 "github.com/primus-dev/primus/internal/platform/apis/management/v1alpha1"
)

// fieldLabels are the field selectors projects support. The view filters
// by them itself, so they need not be the CRD's (which has metadata.name
// only).
var fieldLabels = map[string]bool{
	"metadata.name": true,
	"status.phase":  true,
	"status.role":   true,
}

// newScheme returns the scheme and codecs of the management API: its
// group (v1alpha1 and the internal version), the meta/v1 types every API
// server serves unversioned, and the field selectors of projects.
func newScheme() (*runtime.Scheme, serializer.CodecFactory, error) {
	scheme := runtime.NewScheme()
	if err := mgmtv1.AddToScheme(scheme); err != nil {
		return nil, serializer.CodecFactory{}, fmt.Errorf("management scheme: %w", err)
	}
	// As every generic API server does (sample-apiserver's install): the
	// options types at v1 and the discovery types unversioned.
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	unversioned := schema.GroupVersion{Group: "", Version: "v1"}
	scheme.AddUnversionedTypes(unversioned, &metav1.Status{}, &metav1.APIVersions{},
		&metav1.APIGroupList{}, &metav1.APIGroup{}, &metav1.APIResourceList{})
	for _, gv := range []schema.GroupVersion{mgmtv1.SchemeGroupVersion, mgmtv1.InternalGroupVersion} {
		if err := scheme.AddFieldLabelConversionFunc(gv.WithKind("Project"), convertFieldLabel); err != nil {
			return nil, serializer.CodecFactory{}, fmt.Errorf("management scheme: %w", err)
		}
	}
	return scheme, serializer.NewCodecFactory(scheme), nil
}

// convertFieldLabel accepts the fieldLabels and rejects any other field.
func convertFieldLabel(label, value string) (string, string, error) {
	if !fieldLabels[label] {
		return "", "", fmt.Errorf("field label not supported for projects: %s (use metadata.name, status.phase or status.role)", label)
	}
	return label, value, nil
}
