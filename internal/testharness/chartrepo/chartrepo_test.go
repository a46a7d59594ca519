package chartrepo

import (
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/primus-dev/primus/internal/testharness/tlsca"
)

// repository writes a chart repository into a temporary directory: one
// archive per version, a fake provenance file and index.yaml, as
// `helm package` and `helm repo index` write them.
func repository(t *testing.T, versions ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, v := range versions {
		ch := &chart.Chart{Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: "demo", Version: v, AppVersion: v}}
		archive, err := chartutil.Save(ch, dir)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(archive+".prov", []byte("signature"), 0o644))
	}
	idx, err := repo.IndexDirectory(dir, "")
	require.NoError(t, err)
	require.NoError(t, idx.WriteFile(filepath.Join(dir, IndexFile), 0o644))
	return dir
}

func TestServe(t *testing.T) {
	dir := repository(t, "0.1.0")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("no"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "x.tgz"), []byte("no"), 0o644))
	ca, err := tlsca.New("test CA")
	require.NoError(t, err)
	serverTLS, err := ca.ServerConfig()
	require.NoError(t, err)
	srv, err := Serve(dir, serverTLS)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.Close()) })
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}

	cases := []struct {
		path        string
		status      int
		contentType string
	}{
		{"index.yaml", http.StatusOK, "application/x-yaml"},
		{"demo-0.1.0.tgz", http.StatusOK, "application/gzip"},
		{"demo-0.1.0.tgz.prov", http.StatusOK, "application/pgp-signature"},
		{"demo-9.9.9.tgz", http.StatusNotFound, ""},
		{"secret.txt", http.StatusNotFound, ""},
		{"sub/x.tgz", http.StatusNotFound, ""},
		{"../index.yaml", http.StatusBadRequest, ""},
		{"", http.StatusNotFound, ""},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := client.Get(srv.URL() + tc.path)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tc.status, resp.StatusCode)
			if tc.status == http.StatusOK {
				assert.Equal(t, tc.contentType, resp.Header.Get("Content-Type"))
				want, err := os.ReadFile(filepath.Join(dir, filepath.Base(tc.path)))
				require.NoError(t, err)
				assert.Equal(t, want, body)
			}
		})
	}
	assert.Contains(t, srv.Requests(), "demo-0.1.0.tgz.prov")
	assert.True(t, strings.HasPrefix(srv.URL(), "https://127.0.0.1:"))
}

func TestServeNeedsTLSAndIndex(t *testing.T) {
	_, err := Serve(repository(t, "0.1.0"), nil)
	assert.Error(t, err, "no TLS configuration")
	_, err = Serve(t.TempDir(), &tls.Config{})
	assert.Error(t, err, "no index.yaml")
}

func TestReadIndex(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(t *testing.T, dir string)
		valid bool
	}{
		{name: "as helm repo index writes it", edit: func(*testing.T, string) {}, valid: true},
		{name: "archive changed after indexing", edit: func(t *testing.T, dir string) {
			appendTo(t, filepath.Join(dir, "demo-0.1.0.tgz"), "x")
		}},
		{name: "archive missing", edit: func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, "demo-0.2.0.tgz")))
		}},
		{name: "unknown field", edit: func(t *testing.T, dir string) {
			appendTo(t, filepath.Join(dir, IndexFile), "unknownField: true\n")
		}},
		{name: "no apiVersion", edit: func(t *testing.T, dir string) {
			rewriteIndex(t, dir, func(i *repo.IndexFile) { i.APIVersion = "" })
		}},
		{name: "entry under another chart's name", edit: func(t *testing.T, dir string) {
			rewriteIndex(t, dir, func(i *repo.IndexFile) { i.Entries["other"], i.Entries["demo"] = i.Entries["demo"], nil })
		}},
		{name: "absolute URLs", edit: func(t *testing.T, dir string) {
			rewriteIndex(t, dir, func(i *repo.IndexFile) {
				for _, cv := range i.Entries["demo"] {
					cv.URLs[0] = "https://charts.example.com/releases/" + cv.URLs[0]
				}
			})
		}, valid: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := repository(t, "0.1.0", "0.2.0")
			tc.edit(t, dir)
			idx, err := ReadIndex(dir)
			if !tc.valid {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Len(t, idx.Entries["demo"], 2)
			assert.Equal(t, "0.2.0", idx.Entries["demo"][0].Version, "newest first")
			assert.Equal(t, "0.1.0", idx.Entries["demo"][1].Version)
		})
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(s)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func rewriteIndex(t *testing.T, dir string, edit func(*repo.IndexFile)) {
	t.Helper()
	idx, err := repo.LoadIndexFile(filepath.Join(dir, IndexFile))
	require.NoError(t, err)
	edit(idx)
	require.NoError(t, idx.WriteFile(filepath.Join(dir, IndexFile), 0o644))
}
