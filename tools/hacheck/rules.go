package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/primus-dev/primus/internal/hacheck/invariants"
)

func newRulesCommand(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "rules",
		Short: "Print the table of check's rules (id, severity, what, why, fix) as Markdown",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := io.WriteString(stdout, rulesTable())
			return err
		},
	}
}

// rulesTable is the README's rule table, generated from the rules themselves.
func rulesTable() string {
	var b strings.Builder
	b.WriteString("| id | severity | what holds when it passes | why it matters | how to fix |\n|---|---|---|---|---|\n")
	for _, r := range invariants.Rules() {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", r.ID, r.Severity, cell(r.Description), cell(r.Why), cell(r.Fix))
	}
	return b.String()
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
