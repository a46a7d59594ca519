package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Options says what Publish builds and where it pushes it.
type Options struct {
	// Root is the module root holding MainPackage.
	Root string
	// WorkDir receives the binaries (WorkDir/<os>-<arch>/primus).
	WorkDir string
	// Platforms are the index's platforms, in order; empty means
	// DefaultPlatforms.
	Platforms []Platform
	// Metadata is what the image says about itself.
	Metadata Metadata
	// Tag is where the index is pushed (REGISTRY/REPOSITORY:TAG).
	Tag name.Tag
	// Signer signs the index and the SBOM; nil publishes them unsigned.
	Signer signature.Signer
	// Remote are the registry options (authentication, transport).
	Remote []remote.Option
	// Log receives the compiler's output and a line per step; nil
	// discards them.
	Log io.Writer
}

// Result is what Publish pushed.
type Result struct {
	// Index is the image index, by digest: what the chart's image.digest
	// takes.
	Index name.Digest
	// SBOM is the SBOM artifact, a referrer of Index.
	SBOM name.Digest
	// Signed lists the digests Publish signed (Index and SBOM).
	Signed []name.Digest
}

// Publish builds the binaries, the index and its SBOM, pushes them, and
// signs the index and the SBOM when opts.Signer is set.
func Publish(ctx context.Context, opts Options) (*Result, error) {
	if err := opts.Metadata.Validate(); err != nil {
		return nil, err
	}
	logf := func(format string, args ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, format+"\n", args...)
		}
	}
	platforms := opts.Platforms
	if len(platforms) == 0 {
		platforms = DefaultPlatforms()
	}
	var bins []Binary
	for _, p := range platforms {
		logf("build %s for %s", MainPackage, p)
		path, err := BuildBinary(ctx, opts.Root, filepath.Join(opts.WorkDir, "bin"), p, opts.Log)
		if err != nil {
			return nil, err
		}
		bins = append(bins, Binary{Platform: p, Path: path})
	}
	idx, err := Build(bins, opts.Metadata)
	if err != nil {
		return nil, err
	}
	sbom, err := SBOM(bins, opts.Metadata)
	if err != nil {
		return nil, err
	}
	rem := append([]remote.Option{remote.WithContext(ctx)}, opts.Remote...)
	logf("push %s", opts.Tag)
	if err := remote.WriteIndex(opts.Tag, idx, rem...); err != nil {
		return nil, fmt.Errorf("push %s: %w", opts.Tag, err)
	}
	idxDigest, err := idx.Digest()
	if err != nil {
		return nil, err
	}
	res := &Result{Index: opts.Tag.Context().Digest(idxDigest.String())}
	idxDesc, err := describe(idx)
	if err != nil {
		return nil, err
	}
	if res.SBOM, err = AttachSBOM(ctx, res.Index, idxDesc, sbom, opts.Metadata, rem...); err != nil {
		return nil, err
	}
	logf("attached SBOM %s", res.SBOM.DigestStr())
	if opts.Signer == nil {
		return res, nil
	}
	for _, d := range []name.Digest{res.Index, res.SBOM} {
		if _, err := Sign(ctx, d, opts.Signer, rem...); err != nil {
			return nil, err
		}
		logf("signed %s", d.DigestStr())
		res.Signed = append(res.Signed, d)
	}
	return res, nil
}

// describe is the descriptor of an index, to name it as a subject.
func describe(idx v1.ImageIndex) (v1.Descriptor, error) {
	raw, err := idx.RawManifest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	d, err := idx.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: types.OCIImageIndex, Digest: d, Size: int64(len(raw))}, nil
}

// emptyConfig is the OCI empty descriptor's content, an artifact's config.
var emptyConfig = []byte("{}")

// AttachSBOM pushes sbom as an OCI artifact (artifactType SBOMMediaType)
// whose subject is the index, so `oras discover`, `cosign tree` and the
// referrers API (or its tag fallback, on a registry without it) find it.
func AttachSBOM(ctx context.Context, subject name.Digest, subjectDesc v1.Descriptor, sbom []byte, m Metadata, opts ...remote.Option) (name.Digest, error) {
	repo := subject.Context()
	opts = append(opts, remote.WithContext(ctx))
	layer := static.NewLayer(sbom, SBOMMediaType)
	config := static.NewLayer(emptyConfig, types.OCIEmptyJSON)
	for _, l := range []v1.Layer{config, layer} {
		if err := remote.WriteLayer(repo, l, opts...); err != nil {
			return name.Digest{}, fmt.Errorf("push SBOM: %w", err)
		}
	}
	layerDesc, err := layerDescriptor(layer, SBOMMediaType)
	if err != nil {
		return name.Digest{}, err
	}
	configDesc, err := layerDescriptor(config, types.OCIEmptyJSON)
	if err != nil {
		return name.Digest{}, err
	}
	layerDesc.Annotations = map[string]string{"org.opencontainers.image.title": "primus.spdx.json"}
	mf := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  SBOMMediaType,
		Config:        configDesc,
		Layers:        []v1.Descriptor{layerDesc},
		Subject:       &subjectDesc,
		Annotations:   map[string]string{AnnotationCreated: m.Annotations()[AnnotationCreated]},
	}
	raw, err := json.Marshal(mf)
	if err != nil {
		return name.Digest{}, err
	}
	art := rawManifest{raw: raw, mediaType: types.OCIManifestSchema1}
	d, _, err := v1.SHA256(bytesReader(raw))
	if err != nil {
		return name.Digest{}, err
	}
	ref := repo.Digest(d.String())
	if err := remote.Put(ref, art, opts...); err != nil {
		return name.Digest{}, fmt.Errorf("push SBOM manifest: %w", err)
	}
	return ref, nil
}

func layerDescriptor(l v1.Layer, mt types.MediaType) (v1.Descriptor, error) {
	d, err := l.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	size, err := l.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Digest: d, Size: size}, nil
}

// rawManifest is a manifest pushed as bytes (remote.Taggable).
type rawManifest struct {
	raw       []byte
	mediaType types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mediaType, nil }

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
