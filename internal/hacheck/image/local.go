package image

import (
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ManifestDigest returns the digest of the single-platform image manifest
// that Build puts into the index for b with metadata m. The image is
// assembled in memory; nothing is written or pushed.
func ManifestDigest(b Binary, m Metadata) (v1.Hash, error) {
	if err := m.Validate(); err != nil {
		return v1.Hash{}, err
	}
	img, err := platformImage(b, m)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("image of %s for %s: %w", b.Path, b.Platform, err)
	}
	return img.Digest()
}

// UnknownRevision is the revision BinaryMetadata gives a binary built
// without VCS information (go build -buildvcs=false, or outside a git
// checkout).
const UnknownRevision = "unknown"

// BinaryMetadata returns the Metadata and the platform of the image built
// from the Go binary at path, read from the binary's own build info (what
// `go version -m` prints): the version is its main module's version, the
// revision its vcs.revision and the timestamp its vcs.time (the commit's,
// as `hacheck image publish` uses), the platform its GOOS and GOARCH. A
// binary without VCS stamps gets UnknownRevision and the Unix epoch (a
// fixed value, like ko's default), so the result depends on the binary
// alone.
func BinaryMetadata(path string) (Metadata, Platform, error) {
	bi, err := ReadBuildInfo(path)
	if err != nil {
		return Metadata{}, Platform{}, err
	}
	return metadataOf(bi)
}

func metadataOf(bi *debug.BuildInfo) (Metadata, Platform, error) {
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	m := Metadata{
		Version: bi.Main.Version, Revision: settings["vcs.revision"],
		Source: DefaultSource, Licenses: DefaultLicenses, Created: time.Unix(0, 0).UTC(),
	}
	if m.Version == "" {
		m.Version = "(devel)"
	}
	if m.Revision == "" {
		m.Revision = UnknownRevision
	}
	if t, err := time.Parse(time.RFC3339, settings["vcs.time"]); err == nil {
		m.Created = t.UTC()
	}
	p := Platform{OS: settings["GOOS"], Architecture: settings["GOARCH"]}
	if p.OS == "" || p.Architecture == "" {
		return m, p, fmt.Errorf("build info of %s names no GOOS/GOARCH", bi.Path)
	}
	return m, p, nil
}

// binaryDigests caches BinaryDigest by file identity.
var binaryDigests struct {
	mu      sync.Mutex
	entries map[binaryKey]*digestEntry
}

// binaryKey identifies a file's contents cheaply: a rebuilt binary has a
// new modification time.
type binaryKey struct {
	path    string
	size    int64
	modTime time.Time
}

type digestEntry struct {
	once   sync.Once
	digest v1.Hash
	err    error
}

// BinaryDigest returns the digest of the image the project would build
// from the Go binary at path: ManifestDigest of that very binary on its own
// platform, with its BinaryMetadata. The result is computed once per file
// (path, size and modification time) and cached for the life of the
// process; concurrent callers share one computation, which reads and
// compresses the binary in memory (well under a second for cmd/primus).
// A file that is not a Go binary is an error: no image is built from it.
func BinaryDigest(path string) (v1.Hash, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("image digest of %s: %w", path, err)
	}
	key := binaryKey{path: path, size: fi.Size(), modTime: fi.ModTime()}
	binaryDigests.mu.Lock()
	e := binaryDigests.entries[key]
	if e == nil {
		if binaryDigests.entries == nil {
			binaryDigests.entries = map[binaryKey]*digestEntry{}
		}
		e = &digestEntry{}
		binaryDigests.entries[key] = e
	}
	binaryDigests.mu.Unlock()
	e.once.Do(func() {
		m, p, err := BinaryMetadata(path)
		if err != nil {
			e.err = fmt.Errorf("image digest of %s: %w", path, err)
			return
		}
		e.digest, e.err = ManifestDigest(Binary{Platform: p, Path: path}, m)
	})
	return e.digest, e.err
}
