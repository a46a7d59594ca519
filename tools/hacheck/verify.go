package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"primus.dev/primus/internal/action"
	"primus.dev/primus/internal/cluster"
)

func newVerifyCommand(stdout, stderr io.Writer) *cobra.Command {
	var vf valueFlags
	var output, kubeconfig string
	var nodes, zones int
	var keep, reuse bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "verify CHART",
		Short: "Install or upgrade the chart on a cluster (the embedded one by default) and check the live HA invariants",
		Long: `verify starts the embedded Kubernetes cluster (real etcd, kube-apiserver,
kube-controller-manager and kube-scheduler, with kwok nodes) unless --kubeconfig
is given, runs the equivalent of helm upgrade --install, waits for the replicas,
checks the live invariants (replicas Ready, spread over nodes and zones, PDB
allowed disruptions, Lease, leader-election RBAC by SubjectAccessReview), prints
a report and stops the embedded cluster (unless --keep).`,
		Args: chartArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError{fmt.Errorf("-o %q: must be text or json", output)}
			}
			if nodes < 1 || zones < 1 || zones > 26 {
				return usageError{fmt.Errorf("--nodes %d --zones %d: want at least 1 node and 1 to 26 zones", nodes, zones)}
			}
			if !cmd.Flags().Changed("namespace") {
				vf.namespace = "primus-system"
			}
			if kubeconfig == "" {
				kubeconfig = os.Getenv("KUBECONFIG")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			res, err := action.Verify(ctx, action.VerifyOptions{
				Render:      vf.options(args[0]),
				Kubeconfig:  kubeconfig,
				Cluster:     cluster.Options{Name: "hacheck", Nodes: nodes, Zones: zones, Log: stderr},
				ReuseValues: reuse,
				Keep:        keep,
				Timeout:     timeout,
				Progress:    stderr,
			})
			if err != nil {
				return err
			}
			if output == "json" {
				err = writeJSON(stdout, res)
			} else {
				printVerify(stdout, res)
			}
			if err == nil && !res.Report.Passed() {
				return errFindings
			}
			return err
		},
	}
	vf.register(cmd.Flags())
	f := cmd.Flags()
	f.StringVarP(&output, "output", "o", "text", "report format: text or json")
	f.StringVar(&kubeconfig, "kubeconfig", "", "use this cluster instead of the embedded one (default $KUBECONFIG)")
	f.IntVar(&nodes, "nodes", 3, "embedded cluster: number of nodes")
	f.IntVar(&zones, "zones", 3, "embedded cluster: number of zones the nodes are spread over")
	f.BoolVar(&keep, "keep", false, "leave the embedded cluster running and print how to reach it")
	f.BoolVar(&reuse, "reuse-values", false, "upgrade with the release's previous values as the base, like helm upgrade --reuse-values")
	f.DurationVar(&timeout, "timeout", 3*time.Minute, "how long to wait for the replicas")
	return cmd
}

func printVerify(w io.Writer, res *action.VerifyResult) {
	rep := res.Report
	fmt.Fprintf(w, "release %s (revision %d) in namespace %s on %s\n\n", res.Release, res.Revision, res.Namespace, res.Cluster)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tREADY\tSTATUS\tNODE\tZONE")
	for _, p := range rep.Pods {
		ready := "0/1"
		if p.Ready {
			ready = "1/1"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Name, ready, p.Phase, orNone(p.Node), orNone(p.Zone))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tRESULT\tDETAIL")
	for _, c := range rep.Checks {
		verdict := "ok"
		if !c.Passed {
			verdict = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.ID, verdict, c.Message)
	}
	tw.Flush()
	if failed := rep.Failed(); len(failed) > 0 {
		fmt.Fprintf(w, "\n%d of %d live checks failed\n", len(failed), len(rep.Checks))
	} else {
		fmt.Fprintf(w, "\nall %d live checks hold\n", len(rep.Checks))
	}
	if res.Kept {
		fmt.Fprintf(w, "\nthe embedded cluster is still running; point kubectl and helm at it with:\n  export KUBECONFIG=%s\n  kubectl get po -n %s -o wide\n", res.Kubeconfig, res.Namespace)
		fmt.Fprintf(w, "  helm list -n %s\nstop it with:\n  %s\n", res.Namespace, res.StopCommand)
	}
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func newBinariesCommand(stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "binaries",
		Short: "Build (first run only) the embedded cluster's binaries and helm, and print their directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			bins, err := cluster.EnsureBinaries(ctx, cluster.BinaryOptions{Log: stderr})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(stdout, bins.Dir)
			return err
		},
	}
}
