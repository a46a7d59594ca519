package controller

import (
	"context"
	"fmt"
	"log/slog"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// ensureQuota creates or updates the project's ResourceQuota from
// spec.quota, or deletes it when spec.quota is empty.
func (r *Reconciler) ensureQuota(ctx context.Context, logger *slog.Logger, p *primusv1.Project) error {
	ns := primusv1.NamespaceName(p.Name)
	quota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: primusv1.QuotaName, Namespace: ns}}
	if len(p.Spec.Quota) == 0 {
		err := r.Client.Get(ctx, client.ObjectKeyFromObject(quota), quota)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("get resourcequota %s/%s: %w", ns, quota.Name, err)
		}
		if err := r.Client.Delete(ctx, quota); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete resourcequota %s/%s: %w", ns, quota.Name, err)
		}
		logger.Info("resourcequota deleted", "projectNamespace", ns)
		return nil
	}
	hard, err := p.Spec.ResourceList()
	if err != nil {
		return err
	}
	mutate := func() error {
		if quota.Labels == nil {
			quota.Labels = map[string]string{}
		}
		maps.Copy(quota.Labels, ownLabels(p))
		quota.Spec.Hard = hard
		return nil
	}
	op, err := controllerutil.CreateOrUpdate(ctx, r.Client, quota, mutate)
	if apierrors.IsAlreadyExists(err) {
		// The cache has not caught up with an earlier create: update the
		// API server's copy instead of failing into the workqueue's
		// backoff.
		quota = &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: primusv1.QuotaName, Namespace: ns}}
		op, err = controllerutil.CreateOrUpdate(ctx, liveClient{Client: r.Client, reader: r.Reader}, quota, mutate)
	}
	if err != nil {
		return fmt.Errorf("apply resourcequota %s/%s: %w", ns, quota.Name, err)
	}
	if op != controllerutil.OperationResultNone {
		logger.Info("resourcequota "+string(op), "projectNamespace", ns)
	}
	return nil
}

// liveClient is a client whose Get reads from the API server (reader), for
// a create-or-update that found the cache behind.
type liveClient struct {
	client.Client
	reader client.Reader
}

// Get reads key from the API server.
func (c liveClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	return c.reader.Get(ctx, key, obj, opts...)
}
