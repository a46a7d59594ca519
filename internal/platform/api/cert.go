package api

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"k8s.io/client-go/util/cert"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
)

// tlsConfig returns the server's TLS configuration: the certificate in
// CertDir, reloaded when the files change (a renewed Secret), or a
// self-signed one generated now. The watcher stops with ctx.
func (s *Server) tlsConfig(ctx context.Context) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.opts.CertDir == "" {
		cert, err := selfSigned()
		if err != nil {
			return nil, fmt.Errorf("self-signed certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
		return cfg, nil
	}
	cw, err := certwatcher.New(filepath.Join(s.opts.CertDir, "tls.crt"), filepath.Join(s.opts.CertDir, "tls.key"))
	if err != nil {
		return nil, fmt.Errorf("certificate in %s: %w", s.opts.CertDir, err)
	}
	go func() {
		if err := cw.Start(ctx); err != nil {
			s.log.Error("certificate watcher stopped", "dir", s.opts.CertDir, "err", err)
		}
	}()
	cfg.GetCertificate = cw.GetCertificate
	return cfg, nil
}

// certSource says where the certificate comes from, for the log.
func (s *Server) certSource() string {
	if s.opts.CertDir == "" {
		return "self-signed"
	}
	return s.opts.CertDir
}

// selfSigned returns a certificate for localhost, the loopback addresses
// and the host name, valid for a year, signed by a throwaway CA (client-go's
// util/cert, what the Kubernetes components use for the same job).
func selfSigned() (tls.Certificate, error) {
	var dns []string
	if host, err := os.Hostname(); err == nil && host != "" && host != "localhost" {
		dns = append(dns, host)
	}
	certPEM, keyPEM, err := cert.GenerateSelfSignedCertKeyWithOptions(cert.SelfSignedCertKeyOptions{
		Host: "localhost", AlternateIPs: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, AlternateDNS: dns,
	})
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}
