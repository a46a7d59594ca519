package tlsca

import (
	"crypto/tls"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHandshake checks that a client trusting the CA, and only one
// trusting it, accepts the server's certificate for each of its hosts.
func TestHandshake(t *testing.T) {
	ca, err := New("test CA")
	require.NoError(t, err)
	other, err := New("other CA")
	require.NoError(t, err)
	serverTLS, err := ca.ServerConfig()
	require.NoError(t, err)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", serverTLS)
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_ = conn.(*tls.Conn).Handshake()
			conn.Close()
		}
	}()

	cases := []struct {
		name       string
		serverName string
		ca         *CA
		ok         bool
	}{
		{"IP address", "127.0.0.1", ca, true},
		{"localhost", "localhost", ca, true},
		{"another host name", "example.com", ca, false},
		{"another CA", "127.0.0.1", other, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: tc.ca.Pool(), ServerName: tc.serverName})
			if tc.ok {
				require.NoError(t, err)
				conn.Close()
			} else {
				assert.Error(t, err)
			}
		})
	}
	assert.Contains(t, string(ca.PEM()), "BEGIN CERTIFICATE")
}
