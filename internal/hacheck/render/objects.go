package render

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Object is one rendered Kubernetes object with the template it came from.
type Object struct {
	// Source is the template path from the "# Source:" comment.
	Source string
	// Unstructured is the decoded object.
	*unstructured.Unstructured
}

// Ref names an object the way findings and reports print it:
// Kind/namespace/name, or Kind/name for cluster-scoped objects.
func (o Object) Ref() string {
	if ns := o.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s/%s/%s", o.GetKind(), ns, o.GetName())
	}
	return fmt.Sprintf("%s/%s", o.GetKind(), o.GetName())
}

// Into decodes the object into a typed Kubernetes struct such as
// *appsv1.Deployment.
func (o Object) Into(out any) error {
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, out); err != nil {
		return fmt.Errorf("decode %s: %w", o.Ref(), err)
	}
	return nil
}

// Decode splits a multi-document manifest and decodes every non-empty
// document, keeping each one's "# Source:" path.
func Decode(manifest string) ([]Object, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifest)))
	var objs []Object
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		source := sourceOf(doc)
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, Object{Source: source, Unstructured: &unstructured.Unstructured{Object: m}})
	}
}

func sourceOf(doc []byte) string {
	for _, line := range strings.Split(string(doc), "\n") {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source: "); ok {
			return s
		}
	}
	return ""
}

// Find returns the objects of a kind, in manifest order.
func Find(objs []Object, kind string) []Object {
	var out []Object
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}
