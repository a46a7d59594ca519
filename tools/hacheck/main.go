// Command hacheck renders the Primus chart (or any chart) and checks its
// high-availability invariants: statically on the rendered manifests, and
// live on a cluster.
//
//	hacheck render CHART [-f values.yaml]... [--set k=v]...
//	hacheck check CHART [value flags] [-o text|json] [--matrix FILE]
//	hacheck verify CHART [value flags] [--kubeconfig PATH] [--nodes N] [--zones Z] [--keep] [--failover]
//	hacheck binaries
//	hacheck version
//	hacheck completion bash|zsh|fish|powershell
//	hacheck image publish [--repository R] [--tag T] [--sign-key KEY.pem] [--platform os/arch]...
//	hacheck image verify R@sha256:D --key KEY.pub
//
// Exit codes (exitCode is the one place that maps errors to them): 0 all
// invariants hold, 1 an invariant is broken, 2 bad input (a missing chart, a
// bad flag or --set, values the schema rejects), 3 a runtime failure (the
// cluster could not start, the API server failed).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/primus-dev/primus/internal/hacheck/render"
)

// Exit codes: a public surface, only ever added to.
const (
	exitOK       = 0
	exitFindings = 1
	exitUsage    = 2
	exitRuntime  = 3
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
	code := exitCode(err)
	if code == exitUsage || code == exitRuntime {
		fmt.Fprintf(stderr, "hacheck: error: %s\n", err)
	}
	return code
}

// exitCode maps what a command returned to the process exit code.
func exitCode(err error) int {
	var ie *render.InputError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errFindings):
		return exitFindings
	case errors.As(err, &ie) || isUsage(err):
		return exitUsage
	default:
		return exitRuntime
	}
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "hacheck",
		Short:         "Render a Helm chart and check its high-availability invariants",
		SilenceUsage:  true,
		SilenceErrors: true,
		// Unknown subcommands are usage errors, not "help printed, exit 0".
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q; see hacheck --help", args[0])}
			}
			return nil
		},
		RunE: func(*cobra.Command, []string) error {
			return usageError{errors.New("missing command; see hacheck --help")}
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newRenderCommand(stdout), newCheckCommand(stdout), newVerifyCommand(stdout, stderr), newBinariesCommand(stdout, stderr), newFailoverCommand(stdout, stderr), newVersionCommand(stdout), newImageCommand(stdout, stderr), newRulesCommand(stdout))
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
