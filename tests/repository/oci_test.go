package repository

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gruntwork-io/terratest/modules/helm"
	"github.com/gruntwork-io/terratest/modules/logger"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/provenance"
	helmregistry "helm.sh/helm/v3/pkg/registry"

	"github.com/primus-dev/primus/internal/testharness/ociregistry"
)

// startRegistry starts an OCI registry on 127.0.0.1 with a certificate of
// the suite's CA, stopped in t.Cleanup, and pushes both packaged versions
// to oci://HOST/charts with `helm push`, as the release workflow pushes to
// ghcr.io.
func startRegistry(t *testing.T, a *artifacts) *ociregistry.Registry {
	t.Helper()
	tlsConfig, err := a.ca.ServerConfig()
	require.NoError(t, err)
	reg, err := ociregistry.Start(context.Background(), ociregistry.Options{TLS: tlsConfig})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, reg.Close(), "stop the registry") })
	for _, version := range []string{previousVersion, a.version} {
		args := []string{"push", a.archive(version), "oci://" + reg.Host() + "/charts", "--ca-file", a.caFile}
		t.Logf("helm %s", strings.Join(args, " "))
		out, err := helm.RunHelmCommandAndGetOutputE(t, &helm.Options{Logger: logger.Discard}, args[0], args[1:]...)
		require.NoError(t, err, "helm push:\n%s", out)
	}
	return reg
}

// TestPushOCI checks what `helm push` stored: a tag per version, each a
// Helm chart manifest whose layers are the archive, byte for byte, and its
// provenance file.
func TestPushOCI(t *testing.T) {
	a := built(t)
	reg := startRegistry(t, a)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: a.ca.Pool()}}}

	var tags struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	getJSON(t, client, reg.URL()+"/v2/charts/primus/tags/list", "application/json", &tags)
	assert.Equal(t, "charts/primus", tags.Name)
	assert.ElementsMatch(t, []string{previousVersion, a.version}, tags.Tags)

	for _, version := range []string{previousVersion, a.version} {
		t.Run(version, func(t *testing.T) {
			var m ocispec.Manifest
			getJSON(t, client, fmt.Sprintf("%s/v2/charts/primus/manifests/%s", reg.URL(), version), ocispec.MediaTypeImageManifest, &m)
			assert.Equal(t, helmregistry.ConfigMediaType, m.Config.MediaType)
			layers := map[string]ocispec.Descriptor{}
			for _, l := range m.Layers {
				layers[l.MediaType] = l
			}
			require.Len(t, layers, 2, "chart and provenance layers: %+v", m.Layers)
			for mediaType, file := range map[string]string{
				helmregistry.ChartLayerMediaType: a.archive(version),
				helmregistry.ProvLayerMediaType:  a.archive(version) + ".prov",
			} {
				digest, err := provenance.DigestFile(file)
				require.NoError(t, err)
				require.Contains(t, layers, mediaType)
				assert.Equal(t, digest, layers[mediaType].Digest.Encoded(), "%s layer is %s", mediaType, file)
			}
		})
	}
}

// getJSON GETs url accepting mediaType and decodes the answer into v.
func getJSON(t *testing.T, client *http.Client, url, mediaType string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", mediaType)
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s", url)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v), "decode %s", url)
}
