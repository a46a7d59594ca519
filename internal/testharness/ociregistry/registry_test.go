package ociregistry

import (
	"context"
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	helmregistry "helm.sh/helm/v3/pkg/registry"

	"github.com/primus-dev/primus/internal/testharness/tlsca"
)

// TestPushPull pushes a chart with Helm's registry client and pulls it
// back, over TLS and over plain HTTP.
func TestPushPull(t *testing.T) {
	ca, err := tlsca.New("test CA")
	require.NoError(t, err)
	serverTLS, err := ca.ServerConfig()
	require.NoError(t, err)
	archive := packagedChart(t)

	cases := []struct {
		name   string
		tls    *tls.Config
		scheme string
		opts   []helmregistry.ClientOption
	}{
		{"tls", serverTLS, "https", []helmregistry.ClientOption{helmregistry.ClientOptHTTPClient(&http.Client{
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}},
		})}},
		{"plain http", nil, "http", []helmregistry.ClientOption{helmregistry.ClientOptPlainHTTP()}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg, err := Start(context.Background(), Options{TLS: tc.tls})
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, reg.Close()) })
			assert.Equal(t, tc.scheme+"://"+reg.Host(), reg.URL())

			client, err := helmregistry.NewClient(append(tc.opts,
				helmregistry.ClientOptCredentialsFile(filepath.Join(t.TempDir(), "config.json")))...)
			require.NoError(t, err)
			ref := reg.Host() + "/charts/demo:0.1.0"
			pushed, err := client.Push(archive, ref, helmregistry.PushOptProvData([]byte("provenance")))
			require.NoError(t, err)
			pulled, err := client.Pull(ref, helmregistry.PullOptWithProv(true))
			require.NoError(t, err)
			assert.Equal(t, archive, pulled.Chart.Data)
			assert.Equal(t, []byte("provenance"), pulled.Prov.Data)
			assert.Equal(t, pushed.Manifest.Digest, pulled.Manifest.Digest)
			tags, err := client.Tags(reg.Host() + "/charts/demo")
			require.NoError(t, err)
			assert.Equal(t, []string{"0.1.0"}, tags)
		})
	}
}

func TestCloseTwice(t *testing.T) {
	reg, err := Start(context.Background(), Options{})
	require.NoError(t, err)
	require.NoError(t, reg.Close())
	require.NoError(t, reg.Close())
	_, err = http.Get(reg.URL() + "/v2/")
	assert.Error(t, err, "nothing listens after Close")
}

// packagedChart is a minimal chart archive, as `helm package` writes it.
func packagedChart(t *testing.T) []byte {
	t.Helper()
	ch := &chart.Chart{Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: "demo", Version: "0.1.0"}}
	path, err := chartutil.Save(ch, t.TempDir())
	require.NoError(t, err)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return data
}
