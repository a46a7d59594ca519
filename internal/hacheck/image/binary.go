package image

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// MainPackage is the package the image runs, relative to the module root.
const MainPackage = "./cmd/primus"

// Platform is an OS and an architecture, as in an image index.
type Platform struct {
	OS           string
	Architecture string
}

// String is "os/arch".
func (p Platform) String() string { return p.OS + "/" + p.Architecture }

// ParsePlatform parses "os/arch" (linux/amd64).
func ParsePlatform(s string) (Platform, error) {
	osName, arch, ok := strings.Cut(s, "/")
	if !ok || osName == "" || arch == "" || strings.Contains(arch, "/") {
		return Platform{}, fmt.Errorf("platform %q: want os/arch, e.g. linux/amd64", s)
	}
	return Platform{OS: osName, Architecture: arch}, nil
}

// DefaultPlatforms are the platforms the release publishes.
func DefaultPlatforms() []Platform {
	return []Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}
}

// BuildFlags are the go build flags of the image's binary: no cgo (set in
// the environment), paths trimmed, no VCS stamp (the revision is an image
// annotation instead, so a clean and a dirty tree of one commit build the
// same bytes), no symbol table and an empty build id.
var BuildFlags = []string{"-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid="}

// built remembers, per output path, the binaries BuildBinary produced in
// this process, so that tests which publish twice compile once.
var built struct {
	mu   sync.Mutex
	bins map[string]bool
}

// BuildBinary cross-compiles MainPackage of the module at root for p into
// dir/<os>-<arch>/primus with CGO_ENABLED=0 and BuildFlags, and returns its
// path. A second call for the same path in the same process returns it
// without compiling again. The compiler's output goes to log (nil discards
// it).
func BuildBinary(ctx context.Context, root, dir string, p Platform, log io.Writer) (string, error) {
	out := filepath.Join(dir, p.OS+"-"+p.Architecture, "primus")
	built.mu.Lock()
	defer built.mu.Unlock()
	if built.bins[out] {
		if _, err := os.Stat(out); err == nil {
			return out, nil
		}
	}
	if log == nil {
		log = io.Discard
	}
	args := append([]string{"build"}, BuildFlags...)
	args = append(args, "-o", out, MainPackage)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Architecture, "GOFLAGS=")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build %s for %s: %w", MainPackage, p, err)
	}
	if built.bins == nil {
		built.bins = map[string]bool{}
	}
	built.bins[out] = true
	return out, nil
}
