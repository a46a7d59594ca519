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

	"primus.dev/primus/internal/action"
)

func newCheckCommand(stdout io.Writer) *cobra.Command {
	var vf valueFlags
	var output, matrixPath string
	cmd := &cobra.Command{
		Use:   "check CHART",
		Short: "Render the chart and check its HA invariants (exit 1 when one is broken)",
		Args:  chartArg,
		RunE: func(_ *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError{fmt.Errorf("-o %q: must be text or json", output)}
			}
			if matrixPath != "" {
				return runMatrix(stdout, vf, args[0], matrixPath, output)
			}
			res, err := action.Check(vf.options(args[0]))
			if err != nil {
				return err
			}
			if output == "json" {
				err = writeJSON(stdout, res)
			} else {
				printCheck(stdout, args[0], vf, res)
			}
			if err == nil && !res.Passed() {
				return errFindings
			}
			return err
		},
	}
	vf.register(cmd.Flags())
	cmd.Flags().StringVarP(&output, "output", "o", "text", "report format: text or json")
	cmd.Flags().StringVar(&matrixPath, "matrix", "", "YAML file with a list of value sets to check in one run")
	return cmd
}

func printCheck(w io.Writer, chart string, vf valueFlags, res *action.CheckResult) {
	fmt.Fprintf(w, "hacheck check %s (release %s, namespace %s", chart, vf.release, vf.namespace)
	if len(vf.set) > 0 {
		fmt.Fprintf(w, ", --set %s", strings.Join(vf.set, " --set "))
	}
	fmt.Fprintf(w, ")\n%d objects rendered, %d replicas expected\n\n", res.Objects, res.Replicas)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tRESULT")
	for _, r := range res.Rules {
		verdict := "ok"
		if !r.Passed {
			verdict = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\n", r.ID, verdict)
	}
	tw.Flush()
	if len(res.Findings) == 0 {
		fmt.Fprintf(w, "\nall %d invariants hold\n", len(res.Rules))
		return
	}
	fmt.Fprintf(w, "\n%d finding(s):\n", len(res.Findings))
	for _, f := range res.Findings {
		fmt.Fprintf(w, "  [%s] %s: %s\n", f.Rule, f.Object, f.Message)
	}
}

func runMatrix(w io.Writer, vf valueFlags, chart, path, output string) error {
	m, err := action.LoadMatrix(path)
	if err != nil {
		return err
	}
	results, err := action.CheckMatrix(vf.options(chart), m, filepath.Dir(path))
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range results {
		if !r.AsExpected {
			failed++
		}
	}
	if output == "json" {
		if err := writeJSON(w, map[string]any{"chart": chart, "cases": results, "failed": failed}); err != nil {
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

func summary(r action.MatrixResult) string {
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
