package main

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readmeUsage parses the usage block of the README's "## hacheck" section:
// `go run ./tools/hacheck VERB ...` lines ("image publish" for the image
// subcommands; a verb with two modes, verify CHART and verify --release,
// has a line each), mapped to the flags its lines name.
func readmeUsage(t *testing.T) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(data), "\n## hacheck\n")
	require.True(t, ok, "README.md has no ## hacheck section")
	_, block, ok := strings.Cut(section, "```sh\n")
	require.True(t, ok, "no sh block in ## hacheck")
	block, _, _ = strings.Cut(block, "```")
	flagRE := regexp.MustCompile(`(?:^|[\s\[])(--?[a-zA-Z][a-zA-Z-]*)`)
	usage := map[string][]string{}
	for _, line := range strings.Split(block, "\n") {
		line, _, _ = strings.Cut(line, "#")
		fields := strings.Fields(line)
		if len(fields) < 4 || fields[0] != "go" || fields[1] != "run" || fields[2] != "./tools/hacheck" {
			continue
		}
		verb := fields[3]
		if verb == "image" {
			verb += " " + fields[4]
		}
		if _, ok := usage[verb]; !ok {
			usage[verb] = nil
		}
		for _, m := range flagRE.FindAllStringSubmatch(strings.Join(fields[4:], " "), -1) {
			usage[verb] = append(usage[verb], m[1])
		}
	}
	require.NotEmpty(t, usage)
	return usage
}

// helpSection returns the lines of the named section ("Flags:",
// "Available Commands:") of `hacheck ARGS --help`.
func helpSection(t *testing.T, section string, args ...string) []string {
	t.Helper()
	code, stdout, stderr := hacheck(append(args, "--help")...)
	require.Equal(t, 0, code, stderr)
	var lines []string
	in := false
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		switch line := sc.Text(); {
		case line == section:
			in = true
		case in && strings.TrimSpace(line) == "":
			in = false
		case in:
			lines = append(lines, line)
		}
	}
	return lines
}

// helpCommands lists the commands `hacheck ARGS --help` shows.
func helpCommands(t *testing.T, args ...string) []string {
	var cmds []string
	for _, line := range helpSection(t, "Available Commands:", args...) {
		cmds = append(cmds, strings.Fields(line)[0])
	}
	return cmds
}

// helpFlag is one flag line of --help: its short form ("" when none) and
// its long form.
type helpFlag struct{ short, long string }

// helpFlags lists the flags `hacheck ARGS --help` shows, without -h/--help.
func helpFlags(t *testing.T, args ...string) []helpFlag {
	flagRE := regexp.MustCompile(`^\s+(?:(-[a-zA-Z]), )?(--[a-zA-Z][a-zA-Z-]*)`)
	var flags []helpFlag
	for _, line := range helpSection(t, "Flags:", args...) {
		m := flagRE.FindStringSubmatch(line)
		require.NotNil(t, m, "flag line %q", line)
		if m[2] != "--help" {
			flags = append(flags, helpFlag{short: m[1], long: m[2]})
		}
	}
	return flags
}

// names returns the flags' short and long forms.
func names(flags []helpFlag) []string {
	var n []string
	for _, f := range flags {
		if f.short != "" {
			n = append(n, f.short)
		}
		n = append(n, f.long)
	}
	return n
}

// TestHelpMatchesREADME checks the README's usage block against the --help
// text: the same verbs, every flag the README names exists, and every
// flag of check, verify and failover beyond the shared value flags (those
// of render, the README's "[same value flags]") is in the README.
func TestHelpMatchesREADME(t *testing.T) {
	usage := readmeUsage(t)

	var verbs []string
	for _, c := range helpCommands(t) {
		switch c {
		case "help":
		case "image":
			for _, sub := range helpCommands(t, "image") {
				verbs = append(verbs, "image "+sub)
			}
		default:
			verbs = append(verbs, c)
		}
	}
	var readmeVerbs []string
	for v := range usage {
		readmeVerbs = append(readmeVerbs, v)
	}
	sort.Strings(verbs)
	sort.Strings(readmeVerbs)
	require.Equal(t, verbs, readmeVerbs, "verbs in hacheck --help vs the README's usage block")

	valueFlags := names(helpFlags(t, "render"))
	for verb, readmeFlags := range usage {
		t.Run(verb, func(t *testing.T) {
			flags := helpFlags(t, strings.Fields(verb)...)
			for _, f := range readmeFlags {
				assert.Contains(t, names(flags), f, "the README names %s for hacheck %s; --help does not", f, verb)
			}
			if verb != "check" && verb != "verify" && verb != "failover" {
				return
			}
			for _, f := range flags {
				if contains(valueFlags, f.long) {
					continue
				}
				assert.True(t, contains(readmeFlags, f.long) || (f.short != "" && contains(readmeFlags, f.short)),
					"hacheck %s --help has %s; the README's usage line does not", verb, f.long)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
