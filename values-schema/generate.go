package valuesschema

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/primus-dev/primus/internal/hacheck/schema"
)

// Paths of the schema source and of the generated file, relative to the
// repository root.
const (
	SourcePath = "values-schema/schema.yaml"
	OutputPath = "charts/primus/values.schema.json"
)

// Generate reads the schema source under root and returns the JSON that
// belongs in OutputPath. It fails when either library Helm has used cannot
// compile the schema.
func Generate(root string) ([]byte, error) {
	src, err := os.ReadFile(filepath.Join(root, SourcePath))
	if err != nil {
		return nil, fmt.Errorf("read schema source: %w", err)
	}
	out, err := schema.FromYAML(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", SourcePath, err)
	}
	if err := schema.CheckSchema(out); err != nil {
		return nil, fmt.Errorf("%s: %w", SourcePath, err)
	}
	return out, nil
}

// FindRoot returns the repository root: dir or the nearest parent of it
// holding a go.mod.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("find repository root: %w", err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod in this directory or any parent")
		}
		dir = parent
	}
}
