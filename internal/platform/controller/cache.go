package controller

import (
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// CacheByObject restricts the manager's cache of the types the controller
// watches to objects labelled primus.dev/project, so the leader holds the
// platform's own objects in memory, not every namespace, RoleBinding and
// quota of the cluster. Pass it as cache.Options.ByObject.
func CacheByObject() map[client.Object]cache.ByObject {
	req, err := labels.NewRequirement(primusv1.LabelProject, selection.Exists, nil)
	if err != nil {
		panic(err) // a constant key: a bug if it fails
	}
	owned := cache.ByObject{Label: labels.NewSelector().Add(*req)}
	return map[client.Object]cache.ByObject{
		&corev1.Namespace{}:     owned,
		&rbacv1.RoleBinding{}:   owned,
		&corev1.ResourceQuota{}: owned,
	}
}
