// Command valuesdoc generates the values table of a chart README from the
// chart's values.yaml, whose keys are documented helm-docs style: a `# --`
// comment (continued on the following `#` lines) right above each key.
//
//	go run ./tools/valuesdoc                      # print the table
//	go run ./tools/valuesdoc -write charts/primus/README.md
//	go run ./tools/valuesdoc -check charts/primus/README.md
//
// The table replaces whatever lies between the markers
// <!-- values-table:start --> and <!-- values-table:end -->. A key with no
// documentation is an error, so an undocumented new value fails CI. It does
// not render the chart or validate values; the schema and hacheck do that.
//
// Exit codes: 0 done (or every table is current), 1 a -check table is stale,
// 2 bad input (a bad flag, an unreadable or undocumented values.yaml, a file
// without the markers).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Exit codes.
const (
	exitOK    = 0
	exitStale = 1
	exitUsage = 2
)

// defaultValues is the values file, relative to the repository root, used
// when -values is not given.
const defaultValues = "charts/primus/values.yaml"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the parsed command line.
type options struct {
	values string
	write  []string
	check  []string
}

// run executes valuesdoc with args and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout)
		return exitOK
	}
	if err == nil {
		var stale []string
		stale, err = execute(opts, stdout)
		for _, file := range stale {
			fmt.Fprintf(stderr, "%s: values table is stale: run go run ./tools/valuesdoc -write %s\n", file, file)
		}
		if err == nil && len(stale) > 0 {
			return exitStale
		}
	}
	if err != nil {
		// One line, whatever the error wraps (a YAML error may span lines).
		msg := strings.Join(strings.Fields(err.Error()), " ")
		fmt.Fprintf(stderr, "valuesdoc: error: %s\n", msg)
		return exitUsage
	}
	return exitOK
}

func parseFlags(args []string) (options, error) {
	var opts options
	fs := flag.NewFlagSet("valuesdoc", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are printed as one line by run
	fs.StringVar(&opts.values, "values", "", "values file (default: "+defaultValues+" in the repository root)")
	fs.Func("write", "write the table into `FILE` between the markers (can repeat)", func(s string) error {
		opts.write = append(opts.write, s)
		return nil
	})
	fs.Func("check", "exit 1 if the table in `FILE` is stale (can repeat)", func(s string) error {
		opts.check = append(opts.check, s)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	if fs.NArg() > 0 {
		return opts, fmt.Errorf("unexpected argument %q (use -write FILE or -check FILE)", fs.Arg(0))
	}
	return opts, nil
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: valuesdoc [-values FILE] [-write FILE]... [-check FILE]...

Generate the values table of a chart README from the # -- comments of
values.yaml. Without -write or -check, print the table.

  -values FILE  values file (default: `+defaultValues+` in the repository root)
  -write FILE   write the table between the values-table markers of FILE (can repeat)
  -check FILE   exit 1 if the table in FILE is stale (can repeat)
`)
}

// execute builds the table, writes it into opts.write, and returns the files
// of opts.check whose table differs from it.
func execute(opts options, stdout io.Writer) ([]string, error) {
	path := opts.values
	if path == "" {
		root, err := repoRoot()
		if err != nil {
			return nil, err
		}
		path = filepath.Join(root, defaultValues)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rows, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	table := Table(rows)
	if len(opts.write) == 0 && len(opts.check) == 0 {
		_, err := io.WriteString(stdout, table)
		return nil, err
	}
	for _, file := range opts.write {
		if err := writeTable(file, table); err != nil {
			return nil, err
		}
	}
	var stale []string
	for _, file := range opts.check {
		current, err := tableIsCurrent(file, table)
		if err != nil {
			return nil, err
		}
		if !current {
			stale = append(stale, file)
		}
	}
	return stale, nil
}

// writeTable replaces the table in file, leaving the file untouched when the
// table is already current.
func writeTable(file, table string) error {
	old, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	updated, err := ReplaceTable(string(old), table)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if updated == string(old) {
		return nil
	}
	info, err := os.Stat(file)
	if err != nil {
		return err
	}
	return os.WriteFile(file, []byte(updated), info.Mode().Perm())
}

func tableIsCurrent(file, table string) (bool, error) {
	old, err := os.ReadFile(file)
	if err != nil {
		return false, err
	}
	updated, err := ReplaceTable(string(old), table)
	if err != nil {
		return false, fmt.Errorf("%s: %w", file, err)
	}
	return updated == string(old), nil
}

// repoRoot returns the nearest directory at or above the working directory
// that holds a go.mod.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no go.mod at or above %s: run from the repository or pass -values", wd)
		}
	}
}
