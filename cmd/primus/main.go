// Command primus is the Primus platform: every replica serves the Projects
// API over HTTPS, and the replica holding the leader Lease runs the Project
// controller. The Helm chart in charts/primus deploys it; its flags are the
// ones the chart renders.
//
// Exit codes: 0 after a graceful stop (SIGTERM), 1 when the platform fails
// or loses leadership, 2 for a bad flag.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/pflag"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/primus-dev/primus/internal/platform"
)

func main() {
	os.Exit(run(ctrl.SetupSignalHandler(), os.Args[1:], os.Stdout, os.Stderr))
}

// run parses args, runs the platform until ctx ends and returns the exit
// code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, level, err := parseFlags(args, os.Getenv)
	if errors.Is(err, pflag.ErrHelp) {
		fmt.Fprint(stdout, usage())
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "primus: %v\n", err)
		return 2
	}
	opts.Log = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := platform.Run(ctx, opts); err != nil {
		opts.Log.Error("primus failed", "identity", opts.Identity, "err", err)
		return 1
	}
	return 0
}
