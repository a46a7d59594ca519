package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/primus-dev/primus/internal/hacheck/image"
	"github.com/primus-dev/primus/internal/hacheck/render"
)

// pulledIndex pulls the published index back by digest.
func pulledIndex(t *testing.T) v1.ImageIndex {
	t.Helper()
	idx, err := remote.Index(published.Index)
	require.NoError(t, err)
	got, err := idx.Digest()
	require.NoError(t, err)
	require.Equal(t, published.Index.DigestStr(), got.String())
	return idx
}

// platformImage is the index's image for platform (os/arch).
func platformImage(t *testing.T, idx v1.ImageIndex, platform string) v1.Image {
	t.Helper()
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	for _, d := range im.Manifests {
		if d.Platform != nil && d.Platform.OS+"/"+d.Platform.Architecture == platform {
			img, err := idx.Image(d.Digest)
			require.NoError(t, err)
			return img
		}
	}
	require.Failf(t, "no image", "index has no %s image", platform)
	return nil
}

func TestPublishedIndex(t *testing.T) {
	t.Logf("publish (two cross-compiled builds, push, SBOM, two signatures) took %s", publishTime)
	idx := pulledIndex(t)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	assert.Equal(t, types.OCIImageIndex, im.MediaType)
	want := opts.Metadata.Annotations()
	assert.Equal(t, want, im.Annotations)
	assert.Equal(t, "0.1.0", im.Annotations["org.opencontainers.image.version"])
	assert.Equal(t, "https://github.com/primus-dev/primus", im.Annotations["org.opencontainers.image.source"])
	assert.Equal(t, "Apache-2.0", im.Annotations["org.opencontainers.image.licenses"])
	assert.Equal(t, opts.Metadata.Revision, im.Annotations["org.opencontainers.image.revision"])

	var platforms []string
	for _, d := range im.Manifests {
		require.NotNil(t, d.Platform)
		platforms = append(platforms, d.Platform.OS+"/"+d.Platform.Architecture)
	}
	assert.Equal(t, []string{"linux/amd64", "linux/arm64"}, platforms)

	for _, p := range platforms {
		t.Run(p, func(t *testing.T) {
			img := platformImage(t, idx, p)
			cfg, err := img.ConfigFile()
			require.NoError(t, err)
			assert.Equal(t, p, cfg.OS+"/"+cfg.Architecture)
			assert.Equal(t, []string{"/primus"}, cfg.Config.Entrypoint)
			assert.Equal(t, "65532:65532", cfg.Config.User)
			assert.Equal(t, want, cfg.Config.Labels)
			assert.True(t, cfg.Created.Time.Equal(opts.Metadata.Created))

			files := layerFiles(t, img)
			bin, ok := files["primus"]
			require.True(t, ok, "the image carries /primus")
			assert.Equal(t, string(elfMachine(p)), string(bin[18:20]), "an ELF binary for %s", p)
			assert.Contains(t, files, image.CACertificatesPath)
			assert.NotContains(t, files, "bin/sh", "no shell")
		})
	}
}

// elfMachine is the ELF e_machine field (little endian) of a platform.
func elfMachine(platform string) []byte {
	switch platform {
	case "linux/amd64":
		return []byte{0x3e, 0x00}
	case "linux/arm64":
		return []byte{0xb7, 0x00}
	}
	return nil
}

// layerFiles reads the regular files of an image's filesystem.
func layerFiles(t *testing.T, img v1.Image) map[string][]byte {
	t.Helper()
	files, err := readTar(mutate.Extract(img))
	require.NoError(t, err)
	return files
}

// TestBinaryRuns extracts the binary of this machine's platform from the
// pulled image and runs `primus --help`, the entrypoint with the flag the
// chart's users read first.
func TestBinaryRuns(t *testing.T) {
	platform := "linux/" + runtime.GOARCH
	if runtime.GOOS != "linux" || elfMachine(platform) == nil {
		t.Skipf("the image has no binary this machine runs (%s/%s)", runtime.GOOS, runtime.GOARCH)
	}
	img := platformImage(t, pulledIndex(t), platform)
	files := layerFiles(t, img)
	bin := filepath.Join(t.TempDir(), "primus")
	require.NoError(t, os.WriteFile(bin, files["primus"], 0o755))

	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(context.Background(), bin, "--help")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "primus --help: %s", stderr.String())
	assert.Contains(t, stdout.String(), "--leader-elect")
	assert.Contains(t, stdout.String(), "--api-bind-address")
}

func TestSignatures(t *testing.T) {
	require.Len(t, published.Signed, 2, "the index and the SBOM are signed")
	_, otherPub, err := writeKeyPair(t.TempDir())
	require.NoError(t, err)
	cases := []struct {
		name   string
		digest name.Digest
		key    string
		ok     bool
	}{
		{"index, signing key", published.Index, pubKey, true},
		{"SBOM, signing key", published.SBOM, pubKey, true},
		{"index, another key", published.Index, otherPub, false},
		{"SBOM, another key", published.SBOM, otherPub, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := image.LoadVerifier(tc.key)
			require.NoError(t, err)
			n, err := image.Verify(context.Background(), tc.digest, v)
			if !tc.ok {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, 1, n)
		})
	}
}

// TestSBOMReferrer finds the SBOM through the referrers of the index and
// checks it lists the platform binary's modules, and none of the release
// tooling's (go-containerregistry, sigstore stay out of cmd/primus).
func TestSBOMReferrer(t *testing.T) {
	refs, err := remote.Referrers(published.Index)
	require.NoError(t, err)
	rm, err := refs.IndexManifest()
	require.NoError(t, err)
	require.Len(t, rm.Manifests, 1)
	assert.Equal(t, image.SBOMMediaType, rm.Manifests[0].ArtifactType)
	assert.Equal(t, published.SBOM.DigestStr(), rm.Manifests[0].Digest.String())

	art, err := remote.Image(published.SBOM)
	require.NoError(t, err)
	mf, err := art.Manifest()
	require.NoError(t, err)
	require.NotNil(t, mf.Subject)
	assert.Equal(t, published.Index.DigestStr(), mf.Subject.Digest.String())
	require.Len(t, mf.Layers, 1)
	layer, err := remote.Layer(published.SBOM.Context().Digest(mf.Layers[0].Digest.String()))
	require.NoError(t, err)
	rc, err := layer.Compressed()
	require.NoError(t, err)
	raw, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())

	var doc image.SPDXDocument
	require.NoError(t, json.Unmarshal(raw, &doc))
	assert.Equal(t, "SPDX-2.3", doc.SPDXVersion)
	names := map[string]string{}
	for _, p := range doc.Packages {
		names[p.Name] = p.VersionInfo
	}
	assert.Equal(t, "0.1.0", names["github.com/primus-dev/primus"])
	for _, dep := range []string{"k8s.io/client-go", "sigs.k8s.io/controller-runtime", "stdlib"} {
		assert.NotEmpty(t, names[dep], "the SBOM lists %s", dep)
	}
	for _, dep := range []string{"github.com/google/go-containerregistry", "github.com/sigstore/sigstore", "helm.sh/helm/v3"} {
		assert.NotContains(t, names, dep, "the platform binary links %s", dep)
	}
}

// TestReproducible publishes the same commit again to another tag and gets
// the same index digest, and rebuilds the linux/amd64 binary from scratch
// (another output path, so the in-process cache does not answer) to the
// same bytes.
func TestReproducible(t *testing.T) {
	ctx := context.Background()
	again := opts
	tag, err := name.NewTag(opts.Tag.Context().String()+":again", name.Insecure)
	require.NoError(t, err)
	again.Tag = tag
	res, err := image.Publish(ctx, again)
	require.NoError(t, err)
	assert.Equal(t, published.Index.DigestStr(), res.Index.DigestStr(), "same commit, same digest")
	assert.Equal(t, published.SBOM.DigestStr(), res.SBOM.DigestStr(), "same SBOM")

	amd64 := image.Platform{OS: "linux", Architecture: "amd64"}
	first, err := image.BuildBinary(ctx, opts.Root, filepath.Join(workDir, "bin"), amd64, nil)
	require.NoError(t, err)
	second, err := image.BuildBinary(ctx, opts.Root, t.TempDir(), amd64, nil)
	require.NoError(t, err)
	assert.Equal(t, fileSum(t, first), fileSum(t, second), "the binary build is reproducible")
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return sha256.Sum256(b)
}

// TestChartRendersPushedDigest renders the chart with the pushed digest and
// pulls what the Deployment names.
func TestChartRendersPushedDigest(t *testing.T) {
	repo := published.Index.Context().Name()
	res, err := render.Render(renderOpts("image.repository="+repo, "image.digest="+published.Index.DigestStr()))
	require.NoError(t, err)
	deps := render.Find(res.Objects, "Deployment")
	require.Len(t, deps, 1)
	var dep appsv1.Deployment
	require.NoError(t, deps[0].Into(&dep))
	require.Len(t, dep.Spec.Template.Spec.Containers, 1)
	ref := dep.Spec.Template.Spec.Containers[0].Image
	assert.Equal(t, repo+"@"+published.Index.DigestStr(), ref)

	d, err := name.NewDigest(ref, name.Insecure)
	require.NoError(t, err)
	desc, err := remote.Get(d)
	require.NoError(t, err)
	assert.Equal(t, types.OCIImageIndex, desc.MediaType)
}
