// Package ociregistry runs an OCI distribution registry on a local port: the
// CNCF distribution project's registry (what Docker Hub, GHCR and Harbor
// implement), embedded as a library with in-memory storage, so tests can
// `helm push` a chart and install it from `oci://` exactly as users do from
// ghcr.io.
//
// It is not a registry to keep: storage lives in memory and is gone when the
// registry is closed, there is no authentication, and one process holds it.
package ociregistry

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory" // the storage driver Start configures
	"github.com/sirupsen/logrus"
)

// Options configures a registry.
type Options struct {
	// TLS is the server's TLS configuration; nil serves plain HTTP (clients
	// then need `--plain-http`).
	TLS *tls.Config
	// Log receives the registry's warnings and errors; nil discards them.
	// The registry logs through logrus's standard logger, so this is
	// process-wide.
	Log io.Writer
}

// Registry is a running registry. Close stops it.
type Registry struct {
	ln   net.Listener
	srv  *http.Server
	app  *handlers.App
	done chan error
	once sync.Once
	tls  bool
}

// Start starts a registry on 127.0.0.1 on a free port.
func Start(ctx context.Context, opts Options) (_ *Registry, err error) {
	logrus.SetOutput(orDiscard(opts.Log))
	logrus.SetLevel(logrus.WarnLevel)

	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	cfg := &configuration.Configuration{
		Storage: configuration.Storage{
			"inmemory": configuration.Parameters{},
			// The upload purger is a goroutine nothing could stop; in-memory
			// uploads die with the registry anyway.
			"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
			"delete":      configuration.Parameters{"enabled": true},
		},
	}
	cfg.HTTP.Secret = hex.EncodeToString(secret)
	cfg.Log.AccessLog.Disabled = true

	app, err := newApp(ctx, cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("registry listen: %w", err)
	}
	r := &Registry{ln: ln, app: app, done: make(chan error, 1), tls: opts.TLS != nil}
	r.srv = &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second, TLSConfig: opts.TLS}
	go func() {
		var err error
		if r.tls {
			err = r.srv.ServeTLS(ln, "", "")
		} else {
			err = r.srv.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		r.done <- err
	}()
	return r, nil
}

// newApp builds the registry's HTTP application; distribution panics on a
// configuration it cannot use, which here would be a bug, returned as an
// error.
func newApp(ctx context.Context, cfg *configuration.Configuration) (app *handlers.App, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("configure registry: %v", p)
		}
	}()
	return handlers.NewApp(ctx, cfg), nil
}

// Host is host:port, what goes after oci:// (`oci://HOST/charts`).
func (r *Registry) Host() string { return r.ln.Addr().String() }

// URL is the registry's base URL (https:// or http://).
func (r *Registry) URL() string {
	if r.tls {
		return "https://" + r.Host()
	}
	return "http://" + r.Host()
}

// Close stops the registry at once, closing its connections (a client's
// spare connection would hold a graceful shutdown for seconds) and dropping
// what it stored. Closing twice is safe.
func (r *Registry) Close() error {
	var err error
	r.once.Do(func() {
		err = r.srv.Close()
		if serveErr := <-r.done; err == nil {
			err = serveErr
		}
		if shutErr := r.app.Shutdown(); err == nil {
			err = shutErr
		}
	})
	return err
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
