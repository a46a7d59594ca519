package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
)

// tlsConfig returns the server's TLS configuration: the certificate in
// CertDir, reloaded when the files change (a renewed Secret), or a
// self-signed one generated now. The watcher stops with ctx.
func (s *Server) tlsConfig(ctx context.Context) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.opts.CertDir == "" {
		cert, err := selfSigned(time.Now())
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

// selfSigned returns an ECDSA certificate for localhost, the loopback
// addresses and the host name, valid for a year from now.
func selfSigned(now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	dns := []string{"localhost"}
	if host, err := os.Hostname(); err == nil && host != "" {
		dns = append(dns, host)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "primus", Organization: []string{"primus.dev"}},
		DNSNames:     dns,
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
