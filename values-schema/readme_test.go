package valuesschema_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/strvals"
)

// setFlag matches a `--set key=value` in a command line.
var setFlag = regexp.MustCompile(`--set\s+(\S+)`)

// example is a command line of a README that passes --set, and whether
// the README shows it failing (the next line of a console block is an error).
type example struct {
	command string
	fails   bool
}

// readmeExamples returns the README's commands with --set: the lines of
// ```sh blocks and the "$ " lines of ```console blocks; synopses (CHART)
// are skipped.
func readmeExamples(readme string) []example {
	var out []example
	block := ""
	lines := strings.Split(readme, "\n")
	for i, line := range lines {
		switch {
		case strings.HasPrefix(line, "```"):
			if block == "" {
				block = strings.TrimPrefix(line, "```")
			} else {
				block = ""
			}
			continue
		case !setFlag.MatchString(line) || strings.Contains(line, "CHART"):
			continue
		}
		switch {
		case block == "sh":
			out = append(out, example{command: strings.TrimSpace(line)})
		case block == "console" && strings.HasPrefix(line, "$ "):
			next := ""
			if i+1 < len(lines) {
				next = lines[i+1]
			}
			out = append(out, example{command: strings.TrimPrefix(line, "$ "), fails: strings.Contains(next, "error")})
		}
	}
	return out
}

// TestREADMEExamplesAreValid validates the values of every example command
// in the READMEs under both validators: what we tell users to type works,
// and what the README shows failing fails.
func TestREADMEExamplesAreValid(t *testing.T) {
	schemaJSON, chrt := loadChart(t)
	for _, readme := range []string{"README.md", filepath.Join("charts", "primus", "README.md")} {
		raw, err := os.ReadFile(filepath.Join(repoRoot(t), readme))
		require.NoError(t, err)
		examples := readmeExamples(string(raw))
		require.NotEmpty(t, examples, "%s has example commands with --set", readme)
		for _, ex := range examples {
			t.Run(readme+": "+ex.command, func(t *testing.T) {
				values := map[string]any{}
				for _, m := range setFlag.FindAllStringSubmatch(ex.command, -1) {
					require.NoError(t, strvals.ParseInto(m[1], values))
				}
				coalesced, err := chartutil.CoalesceValues(chrt, values)
				require.NoError(t, err)
				for _, v := range validators {
					err := v.validate(schemaJSON, coalesced.AsMap())
					if ex.fails {
						require.Error(t, err, "%s: the README shows this failing", v.name)
					} else {
						require.NoError(t, err, v.name)
					}
				}
				if !ex.fails {
					require.NoError(t, helmValidate(chrt, values))
				}
			})
		}
	}
}
