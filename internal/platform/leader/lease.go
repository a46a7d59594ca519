package leader

import (
	"context"
	"fmt"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Helm's ownership metadata: a later `helm upgrade` that renders the Lease
// adopts an existing object only when it carries all three.
const (
	helmManagedByLabel        = "app.kubernetes.io/managed-by"
	helmManagedByValue        = "Helm"
	helmReleaseNameAnnotation = "meta.helm.sh/release-name"
	helmReleaseNSAnnotation   = "meta.helm.sh/release-namespace"
)

// LeaseOptions says which Lease EnsureLease creates and for which release.
type LeaseOptions struct {
	// Namespace and Name locate the Lease.
	Namespace, Name string
	// ReleaseName and ReleaseNamespace are the Helm release that installed
	// the binary ($HELM_RELEASE_NAME, $HELM_RELEASE_NAMESPACE). When both
	// are set the Lease gets Helm's ownership label and annotations.
	ReleaseName, ReleaseNamespace string
}

// EnsureLease creates the leader-election Lease, without holder, when it
// does not exist; the chart leaves it out when leaderElection.createLease is
// false. It only ever calls Create, the one verb the chart grants on Leases
// by type: an existing Lease (AlreadyExists) is success. It reports whether
// it created the Lease.
func EnsureLease(ctx context.Context, kube kubernetes.Interface, opts LeaseOptions) (bool, error) {
	lease := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: opts.Name, Namespace: opts.Namespace}}
	if opts.ReleaseName != "" && opts.ReleaseNamespace != "" {
		lease.Labels = map[string]string{helmManagedByLabel: helmManagedByValue}
		lease.Annotations = map[string]string{
			helmReleaseNameAnnotation: opts.ReleaseName,
			helmReleaseNSAnnotation:   opts.ReleaseNamespace,
		}
	}
	_, err := kube.CoordinationV1().Leases(opts.Namespace).Create(ctx, lease, metav1.CreateOptions{})
	switch {
	case err == nil:
		return true, nil
	case apierrors.IsAlreadyExists(err):
		return false, nil
	default:
		return false, fmt.Errorf("create lease %s/%s: %w", opts.Namespace, opts.Name, err)
	}
}
