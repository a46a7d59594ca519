package cluster

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// modulePath is the module path of the Primus repository.
const modulePath = "github.com/primus-dev/primus"

// FindRepoRoot returns the root of the Primus repository: the nearest
// directory, from the working directory upwards, whose go.mod declares
// module github.com/primus-dev/primus. When the working directory is outside the
// repository it tries the directory this file was compiled from.
func FindRepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	if root, ok := findModuleRoot(wd, modulePath); ok {
		return root, nil
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		if root, ok := findModuleRoot(filepath.Dir(file), modulePath); ok {
			return root, nil
		}
	}
	return "", fmt.Errorf("find repository root: no go.mod of module %s above %s", modulePath, wd)
}

// findModuleRoot walks up from dir to the directory whose go.mod declares
// module mod.
func findModuleRoot(dir, mod string) (string, bool) {
	for {
		if m, err := readModulePath(filepath.Join(dir, "go.mod")); err == nil && m == mod {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// readModulePath returns the module path declared by the go.mod at path.
func readModulePath(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	if err := s.Err(); err != nil {
		return "", err
	}
	return "", errors.New("no module directive")
}
