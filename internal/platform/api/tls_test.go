package api

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// insecureTLS accepts the self-signed test certificate.
func insecureTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true} //nolint:gosec // test client of a self-signed server
}

func TestSelfSigned(t *testing.T) {
	now := time.Now()
	cert, err := selfSigned()
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	require.NoError(t, err)
	assert.Contains(t, leaf.DNSNames, "localhost")
	assert.True(t, leaf.NotAfter.After(now.Add(364*24*time.Hour)))
	assert.NoError(t, leaf.VerifyHostname("127.0.0.1"))
	assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, leaf.ExtKeyUsage)
}

func TestStartServesTheCertificateInCertDir(t *testing.T) {
	cert, err := selfSigned()
	require.NoError(t, err)
	dir := t.TempDir()
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))

	s, _, _ := newTestServer(t)
	s.opts.CertDir = dir
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	require.Eventually(t, func() bool { return s.Addr() != nil && s.serving.Load() }, 5*time.Second, 10*time.Millisecond)

	conn, err := tls.Dial("tcp", s.Addr().String(), insecureTLS())
	require.NoError(t, err)
	served := conn.ConnectionState().PeerCertificates[0].Raw
	require.NoError(t, conn.Close())
	assert.Equal(t, cert.Certificate[0], served, "the server presents the certificate from --tls-cert-dir")

	cancel()
	require.NoError(t, <-done)
}
