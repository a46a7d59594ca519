// Command gen writes charts/primus/values.schema.json from
// values-schema/schema.yaml, or with -check only reports whether the
// committed file is stale. Run it from anywhere inside the repository:
//
//	go run ./values-schema/gen          # regenerate
//	go run ./values-schema/gen -check   # exit 1 when the JSON is stale
//
// Exit codes: 0 done or up to date, 1 stale, 2 any other error.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	valuesschema "github.com/primus-dev/primus/values-schema"
)

func main() {
	check := flag.Bool("check", false, "exit 1 if "+valuesschema.OutputPath+" differs from what "+valuesschema.SourcePath+" generates")
	flag.Parse()
	stale, err := run(*check)
	switch {
	case err != nil:
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(2)
	case stale:
		fmt.Fprintf(os.Stderr, "%s is stale: run go run ./values-schema/gen\n", valuesschema.OutputPath)
		os.Exit(1)
	}
}

// run generates the schema JSON and writes it, or with check compares it to
// the committed file and reports whether that is stale.
func run(check bool) (stale bool, err error) {
	root, err := valuesschema.FindRoot(".")
	if err != nil {
		return false, err
	}
	want, err := valuesschema.Generate(root)
	if err != nil {
		return false, err
	}
	out := filepath.Join(root, valuesschema.OutputPath)
	if check {
		got, err := os.ReadFile(out)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("read %s: %w", valuesschema.OutputPath, err)
		}
		return !bytes.Equal(got, want), nil
	}
	if err := os.WriteFile(out, want, 0o644); err != nil {
		return false, fmt.Errorf("write %s: %w", valuesschema.OutputPath, err)
	}
	return false, nil
}
