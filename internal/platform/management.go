package platform

import (
	"fmt"
	"log/slog"
	"net"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/primus-dev/primus/internal/platform/mgmtapi"
)

// newManagementAPI builds the management API server on l, or returns nil
// when l is nil (--management-api-bind-address is empty: the server is
// off). Like the JSON API it reads and writes Projects directly, not
// through the manager's cache (a standby has no informers), with a user
// agent of its own, and it runs on every replica.
func newManagementAPI(log *slog.Logger, cfg *rest.Config, scheme *runtime.Scheme, mapper meta.RESTMapper, o Options, l net.Listener) (*mgmtapi.Server, error) {
	if l == nil {
		return nil, nil
	}
	c := rest.CopyConfig(cfg)
	c.UserAgent = cfg.UserAgent + " " + ManagementAPIComponent
	projects, err := client.NewWithWatch(c, client.Options{Scheme: scheme, Mapper: mapper})
	if err != nil {
		return nil, fmt.Errorf("management api client: %w", err)
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
