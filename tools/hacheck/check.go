package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/primus-dev/primus/internal/hacheck/chartcheck"
	"github.com/primus-dev/primus/internal/hacheck/invariants"
	"github.com/primus-dev/primus/internal/hacheck/render"
)

// checkFlags are check's own flags, beside the value flags.
type checkFlags struct {
	output, matrixPath, configPath, failOn string
	expect                                 []string
	// against, againstValues and againstSet describe the installed
	// revision for the upgrade rules.
	against                   string
	againstValues, againstSet []string
}

func (cf checkFlags) options(vf valueFlags, chart string) (chartcheck.CheckOptions, error) {
	opts := chartcheck.CheckOptions{Options: vf.options(chart)}
	if cf.failOn != "" {
		sev, err := chartcheck.ParseFailOn(cf.failOn)
		if err != nil {
			return opts, usageError{fmt.Errorf("--fail-on: %w", err)}
		}
		opts.FailOn = sev
	}
	expect, err := chartcheck.ParseExpect(cf.expect)
	if err != nil {
		return opts, err
	}
	opts.Expect = expect
	cfg, err := chartcheck.LoadConfig(cf.configPath, chart)
	if err != nil {
		return opts, err
	}
	opts.Config = cfg
	if cf.against != "" || len(cf.againstValues) > 0 || len(cf.againstSet) > 0 {
		old := opts.Options
		if cf.against != "" {
			old.Chart = cf.against
		}
		if len(cf.againstValues) > 0 || len(cf.againstSet) > 0 {
			old.ValueFiles, old.Set, old.SetString, old.SetJSON, old.Values = cf.againstValues, cf.againstSet, nil, nil, nil
		}
		opts.Against = &old
	}
	return opts, nil
}

func newCheckCommand(stdout io.Writer) *cobra.Command {
	var vf valueFlags
	var cf checkFlags
	cmd := &cobra.Command{
		Use:   "check CHART",
		Short: "Render the chart and check its HA invariants (exit 1 when a finding at --fail-on or above is not suppressed)",
		Args:  chartArg,
		RunE: func(_ *cobra.Command, args []string) error {
			if !slices.Contains([]string{"text", "json", "sarif"}, cf.output) {
				return usageError{fmt.Errorf("-o %q: must be text, json or sarif", cf.output)}
			}
			opts, err := cf.options(vf, args[0])
			if err != nil {
				return err
			}
			if cf.matrixPath != "" {
				return runMatrix(stdout, opts, cf.matrixPath, cf.output)
			}
			res, err := chartcheck.Check(opts)
			if err != nil {
				return err
			}
			switch cf.output {
			case "json":
				err = writeJSON(stdout, res)
			case "sarif":
				err = writeJSON(stdout, sarifLog(args[0], res))
			default:
				printCheck(stdout, args[0], vf, opts, res)
			}
			if err == nil && !res.Passed() {
				return errFindings
			}
			return err
		},
	}
	vf.register(cmd.Flags(), render.DefaultNamespace)
	cmd.Flags().StringVarP(&cf.output, "output", "o", "text", "report format: text, json or sarif (SARIF 2.1.0, for code scanning)")
	cmd.Flags().StringVar(&cf.matrixPath, "matrix", "", "YAML file with a list of value sets to check in one run")
	cmd.Flags().StringVar(&cf.configPath, "config", "", "config file (default: "+chartcheck.ConfigFile+" beside the chart, else in the working directory)")
	cmd.Flags().StringVar(&cf.failOn, "fail-on", "", "least severity that fails the check: error, warning, info or none (default warning, or the config's failOn)")
	cmd.Flags().StringVar(&cf.against, "against", "", "upgrade check: the installed revision's chart (directory or .tgz; default CHART), rendered with the same values unless --against-values or --against-set")
	cmd.Flags().StringArrayVar(&cf.againstValues, "against-values", nil, "upgrade check: a values file of the installed revision (can repeat)")
	cmd.Flags().StringArrayVar(&cf.againstSet, "against-set", nil, "upgrade check: a --set of the installed revision (can repeat)")
	cmd.Flags().StringArrayVar(&cf.expect, "expect", nil, "replica count a workload must render, NAME=N (name, Kind/name or Kind/namespace/name; globs; can repeat)")
	return cmd
}

func printCheck(w io.Writer, chart string, vf valueFlags, opts chartcheck.CheckOptions, res *chartcheck.CheckResult) {
	fmt.Fprintf(w, "hacheck check %s (release %s, namespace %s", chart, vf.release, vf.namespace)
	if len(vf.set) > 0 {
		fmt.Fprintf(w, ", --set %s", strings.Join(vf.set, " --set "))
	}
	fmt.Fprintf(w, ")\n%d objects rendered", res.Objects)
	if p := opts.Config.Path(); p != "" {
		fmt.Fprintf(w, ", config %s", p)
	}
	if len(res.Expect) > 0 {
		var asked []string
		for _, k := range sortedKeys(res.Expect) {
			asked = append(asked, fmt.Sprintf("%s=%d", k, res.Expect[k]))
		}
		fmt.Fprintf(w, ", expecting %s", strings.Join(asked, " "))
	}
	if opts.Against != nil {
		fmt.Fprintf(w, ", upgrading from %s", opts.Against.Chart)
		if len(opts.Against.Set) > 0 {
			fmt.Fprintf(w, " --set %s", strings.Join(opts.Against.Set, " --set "))
		}
	}
	fmt.Fprintf(w, ", failing on %s\n\n", res.FailOn)

	if len(res.Workloads) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "WORKLOAD\tREPLICAS\tLEADER ELECTION\tLEASE")
		for _, wl := range res.Workloads {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", wl.Kind+"/"+wl.Name, replicaText(wl), electionText(wl.Election), leaseText(wl.Election))
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	for _, ig := range res.Ignored {
		fmt.Fprintf(w, "ignored: %s\n", ig)
	}
	if len(res.Ignored) > 0 {
		fmt.Fprintln(w)
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tSEVERITY\tRESULT")
	for _, r := range res.Rules {
		verdict := "ok"
		switch {
		case r.Disabled:
			verdict = "off"
		case !r.Passed:
			verdict = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.ID, r.Severity, verdict)
	}
	tw.Flush()
	var shown, suppressed []invariants.Finding
	for _, f := range res.Findings {
		if f.Suppressed != "" {
			suppressed = append(suppressed, f)
		} else {
			shown = append(shown, f)
		}
	}
	if len(shown) == 0 {
		fmt.Fprintf(w, "\nall %d invariants hold\n", len(res.Rules))
	} else {
		fmt.Fprintf(w, "\n%d finding(s), %d failing at %s:\n", len(shown), len(res.Failing()), res.FailOn)
		for _, f := range shown {
			fmt.Fprintf(w, "  %-7s [%s] %s: %s\n", f.Severity, f.Rule, f.Object, f.Message)
		}
	}
	if len(suppressed) > 0 {
		fmt.Fprintf(w, "\n%d suppressed:\n", len(suppressed))
		for _, f := range suppressed {
			fmt.Fprintf(w, "  [%s] %s: %s (reason: %s)\n", f.Rule, f.Object, f.Message, f.Suppressed)
		}
	}
}

func replicaText(w *invariants.Workload) string {
	switch {
	case w.PerNode():
		return "per node"
	case w.ScaledBy != "":
		return fmt.Sprintf("%d-%d (HPA)", w.Replicas, w.MaxReplicas)
	}
	return fmt.Sprint(w.Replicas)
}

func electionText(le invariants.LeaderElection) string {
	s := string(le.State)
	if le.Controller != "" {
		s += " (" + le.Controller + ")"
	}
	return s
}

func leaseText(le invariants.LeaderElection) string {
	if !le.Enabled {
		return "-"
	}
	if le.LeaseName == "" {
		return le.LeaseNamespace + "/?"
	}
	return le.LeaseNamespace + "/" + le.LeaseName
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func runMatrix(w io.Writer, opts chartcheck.CheckOptions, path, output string) error {
	m, err := chartcheck.LoadMatrix(path)
	if err != nil {
		return err
	}
	results, err := chartcheck.CheckMatrix(opts, m, filepath.Dir(path))
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range results {
		if !r.AsExpected {
			failed++
		}
	}
	if output != "text" {
		if err := writeJSON(w, map[string]any{"chart": opts.Chart, "cases": results, "failed": failed}); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "CASE\tRESULT\tFINDINGS")
		for _, r := range results {
			verdict := "as expected"
			if !r.AsExpected {
				verdict = "UNEXPECTED"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, verdict, summary(r))
		}
		tw.Flush()
		fmt.Fprintf(w, "\n%d cases, %d unexpected\n", len(results), failed)
	}
	if failed > 0 {
		return errFindings
	}
	return nil
}

func summary(r chartcheck.MatrixResult) string {
	if r.Error != "" {
		return "render error: " + strings.ReplaceAll(r.Error, "\n", "; ")
	}
	if len(r.Findings) == 0 {
		return "none"
	}
	var ids []string
	for _, f := range r.Findings {
		if !slices.Contains(ids, f.Rule) {
			ids = append(ids, f.Rule)
		}
	}
	return strings.Join(ids, ", ")
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
