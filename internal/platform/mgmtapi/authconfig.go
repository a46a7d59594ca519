package mgmtapi

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// The ConfigMap in which the kube-apiserver publishes the client CA and
// the front-proxy (aggregator) header configuration for extension API
// servers.
const (
	authConfigNamespace = metav1.NamespaceSystem
	authConfigName      = "extension-apiserver-authentication"
)

// defaultAuthConfigTimeout is how long New waits for the authentication
// ConfigMap to become readable: RBAC that a Helm install created a moment
// before the Pod started may take a few seconds to take effect.
const defaultAuthConfigTimeout = 30 * time.Second

// authConfigPoll is how often waitAuthConfig asks again.
const authConfigPoll = 500 * time.Millisecond

// waitAuthConfig waits until this replica may read
// kube-system/extension-apiserver-authentication, which the library's
// delegating authentication reads once, at start: without it the server
// would not trust the aggregator's front-proxy headers and would treat
// every request through kubectl as anonymous for the rest of its life. A
// replica that cannot read it within timeout fails to start, saying why,
// so that it restarts (and shows why) instead of serving wrong answers.
func waitAuthConfig(kubeconfig string, timeout time.Duration, log *slog.Logger) (authKeys, error) {
	cfg, err := restConfig(kubeconfig)
	if err != nil {
		return authKeys{}, fmt.Errorf("management api: %w", err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return authKeys{}, fmt.Errorf("management api: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last error
	for logged := false; ; logged = true {
		var cm *corev1.ConfigMap
		cm, last = kube.CoreV1().ConfigMaps(authConfigNamespace).Get(ctx, authConfigName, metav1.GetOptions{})
		if last == nil {
			return authKeys{clientCA: cm.Data["client-ca-file"] != "", requestHeaderCA: cm.Data["requestheader-client-ca-file"] != ""}, nil
		}
		if !logged {
			log.Info("waiting to read the cluster's authentication configuration", "configmap", authConfigNamespace+"/"+authConfigName, "err", last.Error())
		}
		select {
		case <-ctx.Done():
			hint := ""
			if apierrors.IsForbidden(last) {
				hint = "; bind the Role extension-apiserver-authentication-reader in kube-system to this ServiceAccount (the chart does, with rbac.create)"
			}
			return authKeys{}, fmt.Errorf("management api: cannot read %s/%s within %s, so the aggregator's front-proxy headers could not be trusted: %w%s",
				authConfigNamespace, authConfigName, timeout, last, hint)
		case <-time.After(authConfigPoll):
		}
	}
}

// authKeys says which CAs the cluster's authentication ConfigMap holds:
// the client CA, and the front-proxy CA (only when the kube-apiserver runs
// with --requestheader-client-ca-file, as an aggregating one does).
type authKeys struct {
	clientCA, requestHeaderCA bool
}

// restConfig is the configuration of kubeconfig, or the in-cluster one.
func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		return clientcmd.BuildConfigFromFlags("", kubeconfig)
	}
	return rest.InClusterConfig()
}
