// Command hacheck renders the Primus chart (or any chart) and checks its
// high-availability invariants: statically on the rendered manifests, and
// live on a cluster.
//
//	hacheck render CHART [-f values.yaml]... [--set k=v]...
//	hacheck check CHART [value flags] [-o text|json] [--matrix FILE]
//	hacheck verify CHART [value flags] [--kubeconfig PATH] [--nodes N] [--zones Z] [--keep]
//	hacheck binaries
//
// Exit codes: 0 all invariants hold, 1 an invariant is broken, 2 bad input
// (a missing chart, a bad --set, values the schema rejects).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"primus.dev/primus/internal/render"
)

// Exit codes.
const (
	exitOK       = 0
	exitFindings = 1
	exitUsage    = 2
)

// errFindings is returned by a command whose checks found broken invariants;
// the report has already been printed.
var errFindings = errors.New("invariants broken")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes hacheck with args and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCommand(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errFindings):
		return exitFindings
	default:
		fmt.Fprintf(stderr, "hacheck: error: %s\n", err)
		var ie *render.InputError
		if errors.As(err, &ie) || isUsage(err) {
			return exitUsage
		}
		return exitFindings
	}
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "hacheck",
		Short:         "Render a Helm chart and check its high-availability invariants",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newRenderCommand(stdout), newCheckCommand(stdout), newVerifyCommand(stdout, stderr), newBinariesCommand(stdout, stderr), newFailoverCommand(stdout, stderr))
	return root
}

// usageError is a bad command line: a missing argument or an unknown flag.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }

func isUsage(err error) bool {
	var u usageError
	return errors.As(err, &u)
}

// chartArg checks for exactly one CHART argument.
func chartArg(_ *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("expected one CHART argument (a chart directory or .tgz), got %d", len(args))}
	}
	return nil
}
