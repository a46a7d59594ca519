package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/hacheck/failover"
)

func newFailoverCommand(stdout, stderr io.Writer) *cobra.Command {
	var vf valueFlags
	var output, kubeconfig, mode string
	var rounds int
	cmd := &cobra.Command{
		Use:   "failover CHART",
		Short: "Run three replicas of the chart's Deployment, take the leader down again and again, and measure the handover (exit 1 on a split brain, a lost Project or a broken bound)",
		Long: `failover starts the embedded Kubernetes cluster (unless --kubeconfig is
given), installs the chart's ServiceAccount, RBAC, Lease and Project CRD with
replicaCount=3, builds cmd/primus and runs three replicas as local processes
authenticated as the chart's ServiceAccount, with the lease timings of the
rendered Deployment. Each round takes the leader down by --mode:

  crash     kill -9; bound: a new leader within leaseDuration + 2 x retryPeriod
  graceful  SIGTERM; bound: a new leader within 2s
  pause     SIGSTOP for longer than the lease duration, then SIGCONT; the
            resumed process must exit without acting as leader

and records the time to a new Lease holder, the time until a Project created
right after the signal is reconciled, the errors of an API client calling
every live replica, and any span in which two replicas believed they led
(from their own logs). A replacement replica is started after each round.`,
		Args: chartArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError{fmt.Errorf("-o %q: must be text or json", output)}
			}
			if rounds < 1 {
				return usageError{fmt.Errorf("--rounds %d: want at least 1", rounds)}
			}
			modes, err := failover.ParseModes(mode)
			if err != nil {
				return usageError{err}
			}
			kubeconfig, err := namedKubeconfig(kubeconfig)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, err := failover.Run(ctx, failover.Options{
				Render:         vf.options(args[0]),
				Kubeconfig:     kubeconfig,
				ClusterOptions: cluster.Options{Name: "hacheck-failover", Log: stderr},
				Rounds:         rounds,
				Modes:          modes,
				Progress:       stderr,
			})
			if err != nil {
				return err
			}
			if output == "json" {
				err = failover.WriteJSON(stdout, rep)
			} else {
				err = failover.WriteText(stdout, rep)
			}
			if err == nil && !rep.Passed {
				return errFindings
			}
			return err
		},
	}
	vf.register(cmd.Flags(), failover.DefaultNamespace)
	f := cmd.Flags()
	f.StringVarP(&output, "output", "o", "text", "report format: text or json")
	f.StringVar(&kubeconfig, "kubeconfig", "", "install on the cluster of this kubeconfig instead of the embedded one ($KUBECONFIG alone is not used)")
	f.IntVar(&rounds, "rounds", 3, "rounds per mode")
	f.StringVar(&mode, "mode", "all", "how the leader goes down: crash, graceful, pause or all")
	return cmd
}
