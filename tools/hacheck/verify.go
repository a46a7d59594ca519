package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/primus-dev/primus/internal/hacheck/action"
	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/hacheck/failover"
	"github.com/primus-dev/primus/internal/hacheck/verify"
)

// verifyNamespace is where verify installs a chart, and where doctor mode
// looks for the release, when -n is not given: the namespace the README's
// install uses.
const verifyNamespace = "primus-system"

func newVerifyCommand(stdout, stderr io.Writer) *cobra.Command {
	var vf valueFlags
	var output, kubeconfig, kubeContext, binary string
	var nodes, zones int
	var keep, reuse, failoverRounds, serve bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "verify CHART | verify --release NAME",
		Short: "Install or upgrade the chart on a cluster (the embedded one by default) and check the live HA invariants; or, with --release and no CHART, examine an installed release read-only",
		Long: `verify starts the embedded Kubernetes cluster (real etcd, kube-apiserver,
kube-controller-manager and kube-scheduler, with kwok nodes) unless a cluster
is named with --kubeconfig or --context ($KUBECONFIG alone never is), runs the
equivalent of helm upgrade --install, on the embedded cluster runs the real
primus binary for every Pod (a Pod is Ready when its process's /readyz is),
waits for the replicas, checks the live invariants (replicas Ready, spread
over nodes and zones, PDB allowed disruptions, restarts, one image digest
across the Ready replicas and the pinned one if the spec pins one (the
embedded cluster's Pods report the digest of the image built from the binary
they run), one leader that is a
Ready Pod of the release and renews its Lease, every replica's API answering,
only the leader reporting primus_leader=1, leader-election RBAC by
SubjectAccessReview), prints a report and stops the processes and the
embedded cluster (unless --keep).

With --failover (embedded cluster only), once the live checks hold, verify
measures two handovers with hacheck failover's round code: a crash round
(the leader's process killed -9; its container restarts in place) and a
graceful round (the leader's Pod deleted: SIGTERM, the Lease released). Each
reports the time to a new leader and to the first reconcile of a Project
created right after the signal, against its bound (crash: leaseDuration +
2 x retryPeriod; graceful: 2s), as the checks failover-crash and
failover-graceful; failover-split-brain is the verdict of the split-brain
oracle (the API server's audit log) over both rounds.

Doctor mode, verify --release NAME [-n NS] [--kubeconfig PATH] [--context C]
with no CHART, changes nothing: it reads the release's manifest from Helm's
storage on the named cluster (or kubectl's: $KUBECONFIG, ~/.kube/config),
checks the static HA rules on it and the same live checks (the replicas are
reached through port-forwards), and exits 0 when all hold, 1 with findings,
2 on bad input (no such release) and 3 when it could not run.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && cmd.Flags().Changed("release") {
				return nil
			}
			if len(args) == 0 {
				return usageError{fmt.Errorf("expected one CHART argument (a chart directory or .tgz), or --release NAME to examine an installed release")}
			}
			return chartArg(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError{fmt.Errorf("-o %q: must be text or json", output)}
			}
			if len(args) == 0 {
				if failoverRounds {
					return usageError{errors.New("--failover: doctor mode (--release without CHART) is read-only and --failover kills the leader's Pod; give a CHART to measure failover on the embedded cluster")}
				}
				for _, name := range []string{"values", "set", "set-string", "set-json", "kube-version", "nodes", "zones", "keep", "reuse-values", "binary", "serve"} {
					if cmd.Flags().Changed(name) {
						return usageError{fmt.Errorf("--%s: doctor mode (--release without CHART) installs nothing; drop the flag or give a CHART", name)}
					}
				}
				// Doctor only reads: kubectl's cluster ($KUBECONFIG) is fine.
				if _, err := kubeconfigPath(kubeconfig); err != nil {
					return err
				}
				ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				return runDoctor(ctx, stdout, output, action.DoctorOptions{
					Release: vf.release, Namespace: vf.namespace, Kubeconfig: kubeconfig, Context: kubeContext, Progress: stderr,
				})
			}
			if nodes < 1 || zones < 1 || zones > 26 {
				return usageError{fmt.Errorf("--nodes %d --zones %d: want at least 1 node and 1 to 26 zones", nodes, zones)}
			}
			if timeout <= 0 {
				return usageError{fmt.Errorf("--timeout %s: must be positive", timeout)}
			}
			if serve && (keep || failoverRounds) {
				return usageError{errors.New("--serve: it keeps the cluster only while it runs and measures no failover; drop --keep and --failover")}
			}
			kubeconfig, err := namedKubeconfig(kubeconfig)
			if err != nil {
				return err
			}
			signals := []os.Signal{os.Interrupt, syscall.SIGTERM}
			if serve {
				// A closed terminal or dropped ssh session ends a serving
				// run as Ctrl-C does, stopping what it started.
				signals = append(signals, syscall.SIGHUP)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), signals...)
			defer stop()
			var onServe func(*action.VerifyResult)
			if serve {
				onServe = func(res *action.VerifyResult) { printServing(stdout, output, res) }
			}
			res, err := action.Verify(ctx, action.VerifyOptions{
				Render:      vf.options(args[0]),
				Kubeconfig:  kubeconfig,
				Context:     kubeContext,
				Binary:      binary,
				Cluster:     cluster.Options{Name: "hacheck", Nodes: nodes, Zones: zones, Log: stderr},
				ReuseValues: reuse,
				Keep:        keep,
				Timeout:     timeout,
				Failover:    failoverRounds,
				Serve:       onServe,
				Progress:    stderr,
			})
			if err != nil {
				return err
			}
			if serve {
				// The report was printed when serving began.
				if res.Report != nil && !res.Report.Passed() {
					return errFindings
				}
				return nil
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
	vf.register(cmd.Flags(), verifyNamespace)
	f := cmd.Flags()
	f.StringVarP(&output, "output", "o", "text", "report format: text or json")
	f.StringVar(&kubeconfig, "kubeconfig", "", "install on the cluster of this kubeconfig instead of the embedded one ($KUBECONFIG alone is not used)")
	f.StringVar(&kubeContext, "context", "", "install on this context of the kubeconfig (--kubeconfig, else $KUBECONFIG or ~/.kube/config) instead of the embedded cluster")
	f.StringVar(&binary, "binary", "", "embedded cluster: a built cmd/primus to run for the Pods (default: build it from this repository)")
	f.IntVar(&nodes, "nodes", 3, "embedded cluster: number of nodes")
	f.IntVar(&zones, "zones", 3, "embedded cluster: number of zones the nodes are spread over")
	f.BoolVar(&keep, "keep", false, "leave the embedded cluster running and print how to reach it")
	f.BoolVar(&reuse, "reuse-values", false, "upgrade with the release's previous values as the base, like helm upgrade --reuse-values")
	f.DurationVar(&timeout, "timeout", 3*time.Minute, "how long to wait for the replicas")
	f.BoolVar(&serve, "serve", false, "embedded cluster: once the report is printed, keep the cluster and the replicas running (Pods with real addresses where the machine allows, so the kube-apiserver's aggregator reaches them) until Ctrl-C, SIGTERM or SIGHUP, then stop them")
	f.BoolVar(&failoverRounds, "failover", false, "embedded cluster: once the live checks hold, measure a crash round (kill -9 of the leader) and a graceful round (the leader's Pod deleted) against their bounds")
	return cmd
}

// printServing prints the report of a --serve run and how to reach the
// cluster while it serves.
func printServing(w io.Writer, output string, res *action.VerifyResult) {
	if output == "json" {
		_ = writeJSON(w, res)
		return
	}
	printVerify(w, res)
	fmt.Fprintf(w, "\nserving until Ctrl-C (or SIGTERM, SIGHUP): the embedded cluster and the release's replicas keep running. In another shell:\n")
	fmt.Fprintf(w, "  export KUBECONFIG=%s\n  export PATH=%s:$PATH   # the pinned kubectl and helm\n", res.Kubeconfig, res.Binaries)
	fmt.Fprintf(w, "  kubectl get pods -n %s -o wide\n", res.Namespace)
	fmt.Fprintf(w, "if hacheck is killed (SIGKILL) instead, stop the cluster with:\n  %s\n", res.StopCommand)
	if !res.PodNetwork {
		fmt.Fprintf(w, "(no Pod network, as said above: the kube-apiserver cannot reach the replicas, so APIs they serve through it do not answer)\n")
	}
}

// runDoctor examines an installed release and prints the report.
func runDoctor(ctx context.Context, stdout io.Writer, output string, opts action.DoctorOptions) error {
	res, err := action.Doctor(ctx, opts)
	if err != nil {
		return err
	}
	if output == "json" {
		err = writeJSON(stdout, res)
	} else {
		fmt.Fprintf(stdout, "release %s (revision %d, %s, %s) in namespace %s on %s: read only\n\n", res.Release, res.Revision, res.Chart, res.Status, res.Namespace, res.Cluster)
		if len(res.Findings) == 0 {
			fmt.Fprintln(stdout, "static rules on the stored manifest: all hold")
		} else {
			fmt.Fprintf(stdout, "static rules on the stored manifest: %d finding(s):\n", len(res.Findings))
			for _, f := range res.Findings {
				fmt.Fprintf(stdout, "  [%s] %s: %s\n", f.Rule, f.Object, f.Message)
			}
		}
		fmt.Fprintln(stdout)
		printReport(stdout, res.Report)
	}
	if err == nil && !res.Passed() {
		return errFindings
	}
	return err
}

func printVerify(w io.Writer, res *action.VerifyResult) {
	fmt.Fprintf(w, "release %s (revision %d) in namespace %s on %s\n\n", res.Release, res.Revision, res.Namespace, res.Cluster)
	printReport(w, res.Report)
	if res.Failover != nil {
		t := res.Failover.Timings
		fmt.Fprintf(w, "failover rounds on lease %s (leaseDuration %s, renewDeadline %s, retryPeriod %s); split brain judged from the %s\n",
			res.Failover.Lease, t.LeaseDuration, t.RenewDeadline, t.RetryPeriod, oracleOf(res.Failover))
	}
	if res.FailoverSkipped != "" {
		fmt.Fprintf(w, "no failover rounds: %s\n", res.FailoverSkipped)
	}
	if res.Kept {
		fmt.Fprintf(w, "\nthe embedded cluster is still running (the primus processes stopped with hacheck, so its Pods are not Ready); point kubectl and helm at it with:\n  export KUBECONFIG=%s\n  kubectl get po -n %s -o wide\n", res.Kubeconfig, res.Namespace)
		fmt.Fprintf(w, "  helm list -n %s\nstop it with:\n  %s\n", res.Namespace, res.StopCommand)
	}
}

// printReport prints the Pods, their images and digests, the live checks
// and the leader.
func printReport(w io.Writer, rep *verify.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tREADY\tSTATUS\tRESTARTS\tNODE\tZONE")
	for _, p := range rep.Pods {
		ready := "0/1"
		if p.Ready {
			ready = "1/1"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", p.Name, ready, p.Phase, p.Restarts, orNone(p.Node), orNone(p.Zone))
	}
	tw.Flush()
	fmt.Fprintln(w)
	printImages(w, rep)
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
		var ids []string
		for _, c := range failed {
			ids = append(ids, c.ID)
		}
		fmt.Fprintf(w, "\n%d of %d live checks failed: %s\n", len(failed), len(rep.Checks), strings.Join(slices.Compact(ids), ", "))
	} else {
		fmt.Fprintf(w, "\nall %d live checks hold\n", len(rep.Checks))
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

// oracleOf names what judged split brain in the rounds.
func oracleOf(rep *failover.Report) string {
	for _, r := range rep.Rounds {
		if r.Oracle != "" {
			return r.Oracle
		}
	}
	return "nothing: no round ran"
}
