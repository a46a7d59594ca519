package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/primus-dev/primus/internal/platform/leader"
)

// DefaultShutdownTimeout bounds how long Start waits for in-flight requests
// after its context ends.
const DefaultShutdownTimeout = 10 * time.Second

// LeaderSource tells who leads; *leader.Reader is the implementation.
type LeaderSource interface {
	Leader(ctx context.Context) (leader.Status, error)
}

// Options configures a Server.
type Options struct {
	// Addr is the HTTPS listen address, such as ":8443".
	Addr string
	// Listener, when set, is already bound (to Addr) and Start serves on
	// it instead of listening itself.
	Listener net.Listener
	// CertDir holds tls.crt and tls.key, reloaded when they change. Empty
	// means a self-signed certificate generated at start.
	CertDir string
	// Projects reads and writes Projects. It should not be cache-backed:
	// the API answers with what the API server holds.
	Projects client.Client
	// Authenticator identifies the caller of every API request, and
	// Authorizer decides what it may do; apiauth.New builds both on the
	// Kubernetes API server's TokenReview and SubjectAccessReview, cached.
	Authenticator authenticator.Request
	Authorizer    authorizer.Authorizer
	// Kube answers the readiness check when Ping is nil.
	Kube kubernetes.Interface
	// Leader answers /api/v1/leader.
	Leader LeaderSource
	// Metrics records every request. Nil means unmeasured.
	Metrics *Metrics
	// Log receives request errors and lifecycle lines. Nil discards.
	Log *slog.Logger
	// Ping checks that the API server is reachable, for readiness. Nil
	// asks the API server for its version.
	Ping func(ctx context.Context) error
	// ShutdownTimeout bounds the drain on stop; zero means
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
}

// Server is the API server. It is a controller-runtime Runnable that runs
// on every replica (NeedLeaderElection is false) and a readiness check.
type Server struct {
	opts    Options
	log     *slog.Logger
	handler http.Handler
	serving atomic.Bool
	addr    atomic.Value // net.Addr once listening
}

// NewServer checks opts and builds the Server; nothing listens until Start.
func NewServer(opts Options) (*Server, error) {
	if opts.Projects == nil || opts.Authenticator == nil || opts.Authorizer == nil || opts.Leader == nil {
		return nil, errors.New("api server: Projects, Authenticator, Authorizer and Leader are required")
	}
	if opts.Kube == nil && opts.Ping == nil {
		return nil, errors.New("api server: Kube or Ping is required")
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	if opts.Ping == nil {
		kube := opts.Kube
		opts.Ping = func(context.Context) error {
			_, err := kube.Discovery().ServerVersion()
			return err
		}
	}
	s := &Server{opts: opts, log: opts.Log}
	s.handler = s.routes()
	return s, nil
}

// Handler returns the API's HTTP handler (routes, authentication, metrics),
// without TLS; tests call it directly.
func (s *Server) Handler() http.Handler { return s.handler }

// NeedLeaderElection is false: every replica serves the API.
func (s *Server) NeedLeaderElection() bool { return false }

// Addr returns the address the server listens on, or nil before Start has
// bound it.
func (s *Server) Addr() net.Addr {
	if a, ok := s.addr.Load().(net.Addr); ok {
		return a
	}
	return nil
}

// Start serves HTTPS on opts.Addr until ctx ends, then stops accepting
// connections and waits up to ShutdownTimeout for in-flight requests.
func (s *Server) Start(ctx context.Context) error {
	tlsCfg, err := s.tlsConfig(ctx)
	if err != nil {
		addr := s.opts.Addr
		if s.opts.Listener != nil {
			addr = s.opts.Listener.Addr().String()
			_ = s.opts.Listener.Close()
		}
		return fmt.Errorf("api server on %s: %w", addr, err)
	}
	ln := s.opts.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", s.opts.Addr); err != nil {
			return fmt.Errorf("api server: listen on %s: %w", s.opts.Addr, err)
		}
	}
	s.addr.Store(ln.Addr())
	srv := &http.Server{
		Handler:           s.handler,
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, "", "") }()
	s.serving.Store(true)
	s.log.Info("api server listening", "addr", ln.Addr().String(), "tls", s.certSource())

	select {
	case err := <-served:
		s.serving.Store(false)
		return fmt.Errorf("api server: %w", err)
	case <-ctx.Done():
	}
	s.serving.Store(false)
	s.log.Info("api server shutting down", "timeout", s.opts.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("api server: shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("api server: %w", err)
	}
	s.log.Info("api server stopped")
	return nil
}

// Ready is the readiness check (a controller-runtime healthz.Checker): the
// server is serving and the API server, which every request needs, answers.
// It does not depend on leadership.
func (s *Server) Ready(req *http.Request) error {
	if !s.serving.Load() {
		return errors.New("api server not serving")
	}
	ctx, cancel := context.WithTimeout(req.Context(), 2*time.Second)
	defer cancel()
	if err := s.opts.Ping(ctx); err != nil {
		return fmt.Errorf("kubernetes API server unreachable: %w", err)
	}
	return nil
}
