package v1alpha1

import (
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ResourceList converts spec.quota to a ResourceQuota hard list. It fails on
// a value that is not a quantity (Validate reports those field by field).
func (s *ProjectSpec) ResourceList() (corev1.ResourceList, error) {
	out := make(corev1.ResourceList, len(s.Quota))
	for _, key := range sortedKeys(s.Quota) {
		v := s.Quota[key]
		q, err := resource.ParseQuantity(v.String())
		if err != nil {
			return nil, fmt.Errorf("spec.quota[%s]: %w", key, err)
		}
		out[corev1.ResourceName(key)] = q
	}
	return out, nil
}

// sortedKeys returns the keys of a quota map in order, so errors and
// objects come out the same way every time.
func sortedKeys(m map[string]intstr.IntOrString) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
