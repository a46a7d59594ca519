package platform

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/primus-dev/primus/internal/platform/mgmtapi"
)

// newAPI builds the API server, management.primus.dev's Kubernetes API
// server, on l, or returns nil when l is nil (--api-bind-address is 0:
// the API is off). It reads and writes Projects directly, not through the
// manager's cache (a standby has no informers, and a reply must reflect a
// write that just happened), with a user agent of its own, and it runs on
// every replica, leader or not.
func newAPI(log *slog.Logger, cfg *rest.Config, scheme *runtime.Scheme, mapper meta.RESTMapper, o Options, l net.Listener) (*mgmtapi.Server, error) {
	if l == nil {
		return nil, nil
	}
	c := rest.CopyConfig(cfg)
	c.UserAgent = cfg.UserAgent + " " + ManagementAPIComponent
	projects, err := client.NewWithWatch(c, client.Options{Scheme: scheme, Mapper: mapper})
	if err != nil {
		return nil, fmt.Errorf("api client: %w", err)
	}
	return mgmtapi.New(mgmtapi.Options{
		Listener:   l,
		CertDir:    o.TLSCertDir,
		Kubeconfig: o.Kubeconfig,
		Projects:   projects,
		Log:        log.With("component", "management-api"),

		AuditPolicyFile: o.ManagementAPIAuditPolicyFile,
		AuditLogPath:    o.ManagementAPIAuditLogPath,
	})
}

// apiReady is the API's readiness check (a controller-runtime
// healthz.Checker): the server has loaded what authenticating its callers
// needs, and the Kubernetes API server, which every request needs,
// answers. It does not depend on leadership.
func apiReady(srv *mgmtapi.Server, kube kubernetes.Interface) func(*http.Request) error {
	return func(req *http.Request) error {
		if err := srv.Ready(req); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(req.Context(), 2*time.Second)
		defer cancel()
		if err := kube.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Error(); err != nil {
			return fmt.Errorf("kubernetes API server unreachable: %w", err)
		}
		return nil
	}
}
