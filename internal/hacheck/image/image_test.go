package image

import (
	"archive/tar"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/internal/testharness/ociregistry"
)

// testMetadata is fixed metadata; Created has whole seconds like a commit
// time.
func testMetadata() Metadata {
	return Metadata{
		Version: "1.2.3", Revision: "0123456789abcdef0123456789abcdef01234567",
		Source: DefaultSource, Licenses: DefaultLicenses,
		Created: time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC),
	}
}

// testBinaries writes small stand-ins for primus on both platforms: these
// tests check the assembly, not the compiler (tests/image builds and runs
// the real binaries).
func testBinaries(t *testing.T) []Binary {
	t.Helper()
	var bins []Binary
	for _, p := range DefaultPlatforms() {
		path := filepath.Join(t.TempDir(), "primus")
		require.NoError(t, os.WriteFile(path, []byte("binary for "+p.String()), 0o755))
		bins = append(bins, Binary{Platform: p, Path: path})
	}
	return bins
}

// selfBinaries names the test binary itself, a Go binary with build info,
// for both platforms.
func selfBinaries(t *testing.T) []Binary {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	return []Binary{{Platform: Platform{"linux", "amd64"}, Path: exe}, {Platform: Platform{"linux", "arm64"}, Path: exe}}
}

func TestBuildIsReproducible(t *testing.T) {
	bins := testBinaries(t)
	later := testMetadata()
	later.Created = later.Created.Add(time.Second)
	otherRev := testMetadata()
	otherRev.Revision = "fedcba9876543210fedcba9876543210fedcba98"

	first, err := Build(bins, testMetadata())
	require.NoError(t, err)
	want, err := first.Digest()
	require.NoError(t, err)

	cases := []struct {
		name string
		m    Metadata
		same bool
	}{
		{"same inputs", testMetadata(), true},
		{"another timestamp", later, false},
		{"another revision", otherRev, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			idx, err := Build(bins, tc.m)
			require.NoError(t, err)
			got, err := idx.Digest()
			require.NoError(t, err)
			if tc.same {
				assert.Equal(t, want, got)
			} else {
				assert.NotEqual(t, want, got)
			}
		})
	}
}

func TestBuildIndexAndConfig(t *testing.T) {
	m := testMetadata()
	idx, err := Build(testBinaries(t), m)
	require.NoError(t, err)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	assert.Equal(t, types.OCIImageIndex, im.MediaType)
	assert.Equal(t, m.Annotations(), im.Annotations)
	require.Len(t, im.Manifests, 2)
	for i, want := range []string{"linux/amd64", "linux/arm64"} {
		desc := im.Manifests[i]
		require.NotNil(t, desc.Platform)
		assert.Equal(t, want, desc.Platform.OS+"/"+desc.Platform.Architecture)
		assert.Equal(t, types.OCIManifestSchema1, desc.MediaType)
		img, err := idx.Image(desc.Digest)
		require.NoError(t, err)
		cfg, err := img.ConfigFile()
		require.NoError(t, err)
		assert.Equal(t, []string{"/primus"}, cfg.Config.Entrypoint)
		assert.Empty(t, cfg.Config.Cmd)
		assert.Equal(t, "65532:65532", cfg.Config.User)
		assert.Equal(t, m.Annotations(), cfg.Config.Labels)
		assert.Equal(t, want, cfg.OS+"/"+cfg.Architecture)
		assert.True(t, cfg.Created.Time.Equal(m.Created), "config created %s", cfg.Created)
		mf, err := img.Manifest()
		require.NoError(t, err)
		assert.Equal(t, types.OCIConfigJSON, mf.Config.MediaType)
		assert.Equal(t, m.Annotations(), mf.Annotations)
	}
}

func TestRootFS(t *testing.T) {
	m := testMetadata()
	idx, err := Build(testBinaries(t), m)
	require.NoError(t, err)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	img, err := idx.Image(im.Manifests[0].Digest)
	require.NoError(t, err)
	files := Files(t, img)

	bin := []byte("binary for linux/amd64")

	require.Contains(t, files, "primus")
	assert.Equal(t, int64(0o755), files["primus"].hdr.Mode)
	assert.Equal(t, bin, files["primus"].data, "the layer carries the binary as built")
	require.Contains(t, files, CACertificatesPath)
	certs := parsePEM(t, files[CACertificatesPath].data)
	assert.Greater(t, len(certs), 100, "the CA bundle has the Mozilla roots")
	assert.Contains(t, string(files["etc/passwd"].data), "nonroot:x:65532:65532:")
	for _, shell := range []string{"bin/sh", "bin/bash", "bin/busybox"} {
		assert.NotContains(t, files, shell)
	}
	for path, f := range files {
		assert.True(t, f.hdr.ModTime.Equal(m.Created), "%s: mtime %s", path, f.hdr.ModTime)
		if path != "home/nonroot/" {
			assert.Zero(t, f.hdr.Uid, path)
		}
	}
}

type file struct {
	hdr  *tar.Header
	data []byte
}

// Files reads the image's only layer.
func Files(t *testing.T, img v1.Image) map[string]file {
	t.Helper()
	layers, err := img.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 1)
	rc, err := layers[0].Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	files := map[string]file{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		data, err := io.ReadAll(tr)
		require.NoError(t, err)
		files[hdr.Name] = file{hdr: hdr, data: data}
	}
	return files
}

func parsePEM(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		require.NoError(t, err)
		certs = append(certs, c)
	}
	return certs
}

func TestSBOM(t *testing.T) {
	bins := selfBinaries(t)
	m := testMetadata()
	raw, err := SBOM(bins, m)
	require.NoError(t, err)
	again, err := SBOM(bins, m)
	require.NoError(t, err)
	assert.Equal(t, raw, again, "deterministic")

	var doc SPDXDocument
	require.NoError(t, json.Unmarshal(raw, &doc))
	assert.Equal(t, "SPDX-2.3", doc.SPDXVersion)
	assert.Equal(t, "2026-05-04T03:02:01Z", doc.CreationInfo.Created)
	require.Len(t, doc.DocumentDescribes, 1)
	byName := map[string]SPDXPackage{}
	ids := map[string]bool{}
	for _, p := range doc.Packages {
		byName[p.Name] = p
		assert.False(t, ids[p.SPDXID], "duplicate id %s", p.SPDXID)
		ids[p.SPDXID] = true
	}
	main := byName["github.com/primus-dev/primus"]
	assert.Equal(t, doc.DocumentDescribes[0], main.SPDXID)
	assert.Equal(t, "1.2.3", main.VersionInfo)
	assert.Equal(t, "Apache-2.0", main.LicenseDeclared)
	// A test binary records no dependencies; tests/image checks the
	// modules of the real binary.
	assert.Contains(t, byName, "stdlib")
	for _, r := range doc.Relationships {
		assert.True(t, ids[r.RelatedSPDXElement], "relationship to unknown %s", r.RelatedSPDXElement)
	}
}

func TestMetadataValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Metadata)
		want   string
	}{
		{"complete", func(*Metadata) {}, ""},
		{"no version", func(m *Metadata) { m.Version = "" }, "--version"},
		{"no revision", func(m *Metadata) { m.Revision = "" }, "--revision"},
		{"no source", func(m *Metadata) { m.Source = "" }, "--source"},
		{"no licenses", func(m *Metadata) { m.Licenses = "" }, "--licenses"},
		{"no timestamp", func(m *Metadata) { m.Created = time.Time{} }, "--created"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := testMetadata()
			tc.change(&m)
			err := m.Validate()
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestParsePlatform(t *testing.T) {
	cases := []struct {
		in      string
		want    Platform
		wantErr bool
	}{
		{"linux/amd64", Platform{"linux", "amd64"}, false},
		{"linux/arm64", Platform{"linux", "arm64"}, false},
		{"linux", Platform{}, true},
		{"linux/arm/v7", Platform{}, true},
		{"/amd64", Platform{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePlatform(tc.in)
			if tc.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.in, got.String())
		})
	}
}

// TestSignVerify signs a pushed index with a throwaway key on the embedded
// registry and verifies it, and checks that another key, another digest
// and another repository do not verify.
func TestSignVerify(t *testing.T) {
	ctx := context.Background()
	reg, err := ociregistry.Start(ctx, ociregistry.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, reg.Close()) })

	idx, err := Build(testBinaries(t), testMetadata())
	require.NoError(t, err)
	tag, err := name.NewTag(reg.Host()+"/primus:1.2.3", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.WriteIndex(tag, idx))
	dgst, err := idx.Digest()
	require.NoError(t, err)
	d := tag.Context().Digest(dgst.String())

	key, pub := writeKeyPair(t, t.TempDir())
	_, otherPub := writeKeyPair(t, t.TempDir())
	signer, err := LoadSigner(key)
	require.NoError(t, err)
	_, err = Sign(ctx, d, signer)
	require.NoError(t, err)

	// A copy in another repository with the signature copied along: the
	// payload names the first repository, so it must not verify there.
	copied := mustDigest(t, reg.Host()+"/elsewhere@"+dgst.String())
	require.NoError(t, remote.WriteIndex(copied, idx))
	sigImg, err := remote.Image(SignatureTag(d))
	require.NoError(t, err)
	require.NoError(t, remote.Write(SignatureTag(copied), sigImg))

	cases := []struct {
		name    string
		digest  name.Digest
		pub     string
		wantErr string
	}{
		{"the signing key", d, pub, ""},
		{"another key", d, otherPub, "no valid signature"},
		{"an unsigned digest", tag.Context().Digest("sha256:" + string(make64('0'))), pub, "no signatures"},
		{"another repository", copied, pub, "signs repository"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := LoadVerifier(tc.pub)
			require.NoError(t, err)
			n, err := Verify(ctx, tc.digest, v)
			if tc.wantErr == "" {
				require.NoError(t, err)
				assert.Equal(t, 1, n)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}

	// A second signature is added, not replacing the first.
	_, err = Sign(ctx, d, signer)
	require.NoError(t, err)
	v, err := LoadVerifier(pub)
	require.NoError(t, err)
	n, err := Verify(ctx, d, v)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
}

func make64(c byte) []byte {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return b
}

func mustDigest(t *testing.T, s string) name.Digest {
	t.Helper()
	d, err := name.NewDigest(s, name.Insecure)
	require.NoError(t, err)
	return d
}

// writeKeyPair writes a throwaway ECDSA P-256 key pair (what cosign
// generate-key-pair makes, unencrypted) as PKCS#8 and PKIX PEM files.
func writeKeyPair(t *testing.T, dir string) (priv, pub string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	priv, pub = filepath.Join(dir, "key.pem"), filepath.Join(dir, "key.pub")
	require.NoError(t, os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644))
	return priv, pub
}
