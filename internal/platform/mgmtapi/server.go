package mgmtapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/endpoints/openapi"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/util/compatibility"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mgmtv1 "github.com/primus-dev/primus/internal/platform/apis/management/v1alpha1"
)

// Options configures a Server.
type Options struct {
	// Listener is the bound HTTPS listener to serve on.
	Listener net.Listener
	// CertDir holds tls.crt and tls.key, reloaded when they change; empty
	// means a self-signed certificate generated in memory at start.
	CertDir string
	// Kubeconfig is the kubeconfig the delegated authentication and
	// authorization use to reach the cluster (TokenReview,
	// SubjectAccessReview, the kube-system/extension-apiserver-authentication
	// ConfigMap); empty means the in-cluster configuration.
	Kubeconfig string
	// Projects reads, writes and watches primus.dev Projects: the storage.
	// It should not be cache-backed, so that every replica answers with
	// what the cluster holds.
	Projects client.WithWatch
	// Log receives lifecycle lines. Nil discards.
	Log *slog.Logger
	// AuditPolicyFile is an audit.k8s.io/v1 Policy; with it every request
	// is audited as the kube-apiserver audits (the library's audit filter
	// and log backend). Empty: no audit.
	AuditPolicyFile string
	// AuditLogPath is the audit log, JSON lines; "-" or empty is standard
	// output.
	AuditLogPath string
	// AuthConfigTimeout bounds the wait, at start, for the cluster's
	// authentication ConfigMap to be readable (see waitAuthConfig).
	// Default 30 s.
	AuthConfigTimeout time.Duration
}

// Server is the management API server. It is a controller-runtime
// Runnable that runs on every replica (NeedLeaderElection is false) and a
// readiness check.
type Server struct {
	generic *genericapiserver.GenericAPIServer
	log     *slog.Logger
	serving atomic.Bool
	// authReady reports whether the client CAs have been loaded (see
	// authLoaded).
	authReady func() error
}

// New builds the server: RecommendedOptions minus etcd (and minus
// admission and API priority and fairness, which need a core informer
// factory; audit only with a policy), delegated authentication and
// authorization, OpenAPI v2 and v3, and the projects storage. It reads the
// cluster's authentication ConfigMap once; nothing serves until Start.
func New(opts Options) (*Server, error) {
	if opts.Listener == nil || opts.Projects == nil {
		return nil, errors.New("management api: Listener and Projects are required")
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	// A certificate that cannot be served is the operator's mistake: say so
	// at once, naming the address and the directory, before waiting for
	// the cluster's authentication configuration.
	if opts.CertDir != "" {
		if _, err := tls.LoadX509KeyPair(filepath.Join(opts.CertDir, "tls.crt"), filepath.Join(opts.CertDir, "tls.key")); err != nil {
			return nil, fmt.Errorf("api server on %s: certificate in %s: %w", opts.Listener.Addr(), opts.CertDir, err)
		}
	}
	scheme, codecs, err := newScheme()
	if err != nil {
		return nil, err
	}
	timeout := opts.AuthConfigTimeout
	if timeout <= 0 {
		timeout = defaultAuthConfigTimeout
	}
	keys, err := waitAuthConfig(opts.Kubeconfig, timeout, opts.Log)
	if err != nil {
		return nil, err
	}
	ro := recommendedOptions(opts)
	if errs := ro.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("management api: %w", errors.Join(errs...))
	}
	if opts.CertDir == "" {
		if err := ro.SecureServing.MaybeDefaultWithSelfSignedCerts("localhost", nil, []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}); err != nil {
			return nil, fmt.Errorf("management api: self-signed certificate: %w", err)
		}
	}
	cfg := genericapiserver.NewRecommendedConfig(codecs)
	cfg.EffectiveVersion = compatibility.DefaultBuildEffectiveVersion()
	namer := openapi.NewDefinitionNamer(scheme)
	cfg.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(openAPIDefinitions, namer)
	cfg.OpenAPIConfig.Info.Title, cfg.OpenAPIConfig.Info.Version = "Primus management", mgmtv1.SchemeGroupVersion.Version
	cfg.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(openAPIDefinitions, namer)
	cfg.OpenAPIV3Config.Info.Title, cfg.OpenAPIV3Config.Info.Version = "Primus management", mgmtv1.SchemeGroupVersion.Version
	if err := ro.ApplyTo(cfg); err != nil {
		return nil, fmt.Errorf("management api: %w", err)
	}
	generic, err := cfg.Complete().New("primus-management", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, fmt.Errorf("management api: %w", err)
	}
	group := genericapiserver.NewDefaultAPIGroupInfo(mgmtv1.GroupName, scheme, metav1.ParameterCodec, codecs)
	projects := &projectStorage{projects: opts.Projects, access: access{authz: cfg.Authorization.Authorizer}}
	group.VersionedResourcesStorageMap[mgmtv1.SchemeGroupVersion.Version] = map[string]rest.Storage{
		mgmtv1.Resource: projects,
		mgmtv1.Resource + "/" + mgmtv1.MembersSubresource: &membersStorage{projects: projects},
	}
	if err := generic.InstallAPIGroup(&group); err != nil {
		return nil, fmt.Errorf("management api: install %s: %w", mgmtv1.SchemeGroupVersion, err)
	}
	s := &Server{generic: generic, log: opts.Log, authReady: authLoaded(cfg, keys)}
	if err := generic.AddPostStartHook("primus-management-serving", func(genericapiserver.PostStartHookContext) error {
		s.serving.Store(true)
		s.log.Info("management api listening", "addr", opts.Listener.Addr().String(), "group", mgmtv1.SchemeGroupVersion.String())
		return nil
	}); err != nil {
		return nil, fmt.Errorf("management api: %w", err)
	}
	return s, nil
}

// recommendedOptions are the generic API server's recommended options for
// this server: serving on opts.Listener, delegated authentication and
// authorization with the library's cache TTLs (10 s), and nothing that
// needs etcd or a core informer factory.
func recommendedOptions(opts Options) *options.RecommendedOptions {
	ro := options.NewRecommendedOptions("", nil)
	ro.Etcd = nil
	ro.Admission = nil
	ro.CoreAPI = nil
	ro.Features = nil
	ro.Audit = nil
	ro.EgressSelector = nil
	ro.Traces = nil

	ro.SecureServing.Listener = opts.Listener
	ro.SecureServing.BindPort = 0
	ro.SecureServing.ServerCert.CertDirectory, ro.SecureServing.ServerCert.PairName = "", ""
	if opts.CertDir != "" {
		ro.SecureServing.ServerCert.CertKey = options.CertKey{
			CertFile: filepath.Join(opts.CertDir, "tls.crt"), KeyFile: filepath.Join(opts.CertDir, "tls.key"),
		}
	}
	ro.Authentication.RemoteKubeConfigFile = opts.Kubeconfig
	// New has waited for kube-system/extension-apiserver-authentication to
	// be readable (waitAuthConfig): a failed lookup now is an error, never
	// a server that treats every aggregated request as anonymous.
	ro.Authentication.TolerateInClusterLookupFailure = false
	ro.Authorization.RemoteKubeConfigFile = opts.Kubeconfig
	if opts.AuditPolicyFile != "" {
		ro.Audit = options.NewAuditOptions()
		ro.Audit.PolicyFile = opts.AuditPolicyFile
		ro.Audit.LogOptions.Path = opts.AuditLogPath
		if ro.Audit.LogOptions.Path == "" {
			ro.Audit.LogOptions.Path = "-"
		}
		ro.Audit.LogOptions.Format = "json"
	}
	return ro
}

// NeedLeaderElection is false: every replica serves the management API.
func (s *Server) NeedLeaderElection() bool { return false }

// Start serves until ctx ends, then runs the generic API server's
// graceful shutdown (it drains in-flight requests and watches).
func (s *Server) Start(ctx context.Context) error {
	defer s.serving.Store(false)
	if err := s.generic.PrepareRun().RunWithContext(ctx); err != nil {
		return fmt.Errorf("management api: %w", err)
	}
	s.log.Info("management api stopped")
	return nil
}

// Ready is the readiness check (a controller-runtime healthz.Checker): the
// server has started serving and has not stopped. It does not depend on
// leadership.
func (s *Server) Ready(*http.Request) error {
	if !s.serving.Load() {
		return errors.New("management api not serving")
	}
	return s.authReady()
}

// authLoaded returns a check that the CAs which verify client certificates
// (the aggregator's front-proxy certificate above all) have been loaded.
// The library reads them from kube-system/extension-apiserver-authentication
// through an informer that syncs after the server starts serving; until it
// has, no client certificate verifies, so a request the aggregator proxies
// would be served as system:anonymous. A replica must not be Ready, and so
// an endpoint of the APIService's Service, before then. keys says which
// CAs the ConfigMap holds: one it does not hold is never loaded.
func authLoaded(cfg *genericapiserver.RecommendedConfig, keys authKeys) func() error {
	return func() error {
		if cfg.SecureServing == nil || cfg.SecureServing.ClientCA == nil {
			return nil // no client certificates to verify
		}
		if (keys.clientCA || keys.requestHeaderCA) && len(cfg.SecureServing.ClientCA.CurrentCABundleContent()) == 0 {
			return errors.New("management api: client CAs not loaded yet")
		}
		if rh := cfg.Authentication.RequestHeaderConfig; rh != nil && keys.requestHeaderCA {
			if _, ok := rh.CAContentProvider.VerifyOptions(); !ok {
				return errors.New("management api: front-proxy CA not loaded yet")
			}
		}
		return nil
	}
}
