package replica

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
)

// built remembers the binaries Build produced in this process, by
// directory, so that a run builds cmd/primus once.
var built struct {
	mu   sync.Mutex
	bins map[string]string
}

// Build compiles cmd/primus of the repository this process runs in into
// dir and returns the binary's path. A second call with the same dir in
// the same process returns the binary of the first, if it still exists.
// The go command's build cache makes a rebuild of unchanged sources fast.
// The compiler's output goes to log (nil discards it).
func Build(ctx context.Context, dir string, log io.Writer) (string, error) {
	built.mu.Lock()
	defer built.mu.Unlock()
	if bin, ok := built.bins[dir]; ok {
		if _, err := os.Stat(bin); err == nil {
			return bin, nil
		}
	}
	root, err := cluster.FindRepoRoot()
	if err != nil {
		return "", fmt.Errorf("build cmd/primus: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("build cmd/primus: %w", err)
	}
	bin := filepath.Join(dir, "primus")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/primus")
	cmd.Dir = root
	if log == nil {
		log = io.Discard
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build cmd/primus: %w", err)
	}
	if built.bins == nil {
		built.bins = map[string]string{}
	}
	built.bins[dir] = bin
	return bin, nil
}
