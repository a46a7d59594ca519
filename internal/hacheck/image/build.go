package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Image layout and identity.
const (
	// Entrypoint is the binary's path in the image.
	Entrypoint = "/primus"
	// User is the non-root user and group the image runs as, the one the
	// chart's restricted security context expects (distroless's nonroot).
	User = "65532:65532"
	// DefaultSource is the project's source repository.
	DefaultSource = "https://github.com/primus-dev/primus"
	// DefaultLicenses is the project's SPDX license expression.
	DefaultLicenses = "Apache-2.0"
)

// OCI annotation keys the image and its index carry (the
// org.opencontainers.image.* keys of the image spec).
const (
	AnnotationSource   = "org.opencontainers.image.source"
	AnnotationRevision = "org.opencontainers.image.revision"
	AnnotationVersion  = "org.opencontainers.image.version"
	AnnotationLicenses = "org.opencontainers.image.licenses"
	AnnotationCreated  = "org.opencontainers.image.created"
	AnnotationTitle    = "org.opencontainers.image.title"
)

// Metadata is what the image says about itself.
type Metadata struct {
	// Version is the release version (the chart's appVersion).
	Version string
	// Revision is the source commit.
	Revision string
	// Source is the source repository URL.
	Source string
	// Licenses is an SPDX license expression.
	Licenses string
	// Created is the image's timestamp: every file, the config and the
	// annotations carry it, so one commit gives one digest. Use the commit
	// time (SOURCE_DATE_EPOCH).
	Created time.Time
}

// Annotations returns the OCI annotations for m; they are also the image
// config's labels.
func (m Metadata) Annotations() map[string]string {
	return map[string]string{
		AnnotationTitle:    "primus",
		AnnotationSource:   m.Source,
		AnnotationRevision: m.Revision,
		AnnotationVersion:  m.Version,
		AnnotationLicenses: m.Licenses,
		AnnotationCreated:  m.Created.UTC().Format(time.RFC3339),
	}
}

// Validate reports the first missing field, naming the flag that sets it.
func (m Metadata) Validate() error {
	switch {
	case m.Version == "":
		return fmt.Errorf("--version: the image version is empty")
	case m.Revision == "":
		return fmt.Errorf("--revision: the source revision is empty")
	case m.Source == "":
		return fmt.Errorf("--source: the source URL is empty")
	case m.Licenses == "":
		return fmt.Errorf("--licenses: the license expression is empty")
	case m.Created.IsZero():
		return fmt.Errorf("--created: the image timestamp is not set")
	}
	return nil
}

// Build assembles the image index from one binary per platform (paths by
// platform, in the index's order).
func Build(binaries []Binary, m Metadata) (v1.ImageIndex, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if len(binaries) == 0 {
		return nil, fmt.Errorf("build image: no binaries")
	}
	anns := m.Annotations()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, b := range binaries {
		img, err := platformImage(b, m)
		if err != nil {
			return nil, fmt.Errorf("build image for %s: %w", b.Platform, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add: img,
			Descriptor: v1.Descriptor{
				Platform: &v1.Platform{OS: b.Platform.OS, Architecture: b.Platform.Architecture},
			},
		})
	}
	return mutate.Annotations(idx, anns).(v1.ImageIndex), nil
}

// Binary is a built binary for a platform.
type Binary struct {
	Platform Platform
	Path     string
}

// platformImage is the image of one platform: one layer on scratch.
func platformImage(b Binary, m Metadata) (v1.Image, error) {
	bin, err := os.ReadFile(b.Path)
	if err != nil {
		return nil, err
	}
	rootfs, err := rootFS(bin, m.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(rootfs)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: m.Created.UTC()}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History: v1.History{
			Created:   created,
			CreatedBy: "hacheck image: " + MainPackage + " (CGO_ENABLED=0 go build " + fmt.Sprint(BuildFlags) + ")",
			Comment:   "primus binary, CA certificates, passwd entry for user 65532",
		},
	})
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = b.Platform.OS, b.Platform.Architecture
	cfg.Created = created
	cfg.Author = ""
	cfg.Config = v1.Config{
		Entrypoint: []string{Entrypoint},
		User:       User,
		WorkingDir: "/",
		Env:        []string{"SSL_CERT_FILE=/" + CACertificatesPath},
		Labels:     m.Annotations(),
	}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, err
	}
	return mutate.Annotations(img, m.Annotations()).(v1.Image), nil
}

// rootFS is the image's only layer, a tar with fixed owners, modes and
// times: the binary, the CA bundle and passwd/group entries naming 65532
// (so tools that map the user to a name find one). There is no shell.
func rootFS(bin []byte, created time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mod := created.UTC()
	dirs := []string{"etc/", "etc/ssl/", "etc/ssl/certs/", "home/", "tmp/"}
	for _, d := range dirs {
		mode := int64(0o755)
		if d == "tmp/" {
			mode = 0o1777
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: mode, ModTime: mod, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
	}
	// home/nonroot belongs to the user, like distroless's.
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "home/nonroot/", Mode: 0o700, Uid: 65532, Gid: 65532, ModTime: mod, Format: tar.FormatPAX}); err != nil {
		return nil, err
	}
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"etc/group", 0o644, []byte("root:x:0:\nnonroot:x:65532:\n")},
		{"etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{CACertificatesPath, 0o644, CABundle()},
		{Entrypoint[1:], 0o755, bin},
	}
	for _, f := range files {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: mod, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
