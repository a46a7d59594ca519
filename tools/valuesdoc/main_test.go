package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	documented   = "# -- Replicas.\nreplicaCount: 1\n"
	readmeBefore = "# Chart\n\n## Values\n\n" + startMarker + "\n" + endMarker + "\n"
	readmeAfter  = "# Chart\n\n## Values\n\n" + startMarker + "\n\n" + tableHeader +
		"| replicaCount | int | `1` | Replicas. |\n\n" + endMarker + "\n"
)

func TestRun(t *testing.T) {
	cases := []struct {
		name       string
		values     string
		readme     string
		args       []string // VALUES and README stand for the files of the case
		wantCode   int
		wantStdout string
		wantStderr string // the whole of stderr; "" means empty
		wantReadme string
	}{
		{
			name:       "print the table",
			values:     documented,
			args:       []string{"-values", "VALUES"},
			wantCode:   exitOK,
			wantStdout: tableHeader + "| replicaCount | int | `1` | Replicas. |\n",
		},
		{
			name:       "write fills the markers",
			values:     documented,
			readme:     readmeBefore,
			args:       []string{"-values", "VALUES", "-write", "README"},
			wantCode:   exitOK,
			wantReadme: readmeAfter,
		},
		{
			name:       "check passes on a current table",
			values:     documented,
			readme:     readmeAfter,
			args:       []string{"-values", "VALUES", "-check", "README"},
			wantCode:   exitOK,
			wantReadme: readmeAfter,
		},
		{
			name:       "check fails on a stale table",
			values:     documented,
			readme:     readmeBefore,
			args:       []string{"-values", "VALUES", "-check", "README"},
			wantCode:   exitStale,
			wantStderr: "README: values table is stale: run go run ./tools/valuesdoc -write README\n",
			wantReadme: readmeBefore,
		},
		{
			name:       "undocumented key is a usage error naming it",
			values:     documented + "image:\n  tag: \"\"\n",
			readme:     readmeAfter,
			args:       []string{"-values", "VALUES", "-check", "README"},
			wantCode:   exitUsage,
			wantStderr: "valuesdoc: error: VALUES: undocumented values (add a `# --` comment right above each): image.tag\n",
			wantReadme: readmeAfter,
		},
		{
			name:       "file without markers",
			values:     documented,
			readme:     "# Chart\n",
			args:       []string{"-values", "VALUES", "-write", "README"},
			wantCode:   exitUsage,
			wantStderr: "valuesdoc: error: README: want one " + startMarker + " marker, found 0\n",
			wantReadme: "# Chart\n",
		},
		{
			name:     "bad yaml is one line",
			values:   "a: [\n",
			args:     []string{"-values", "VALUES"},
			wantCode: exitUsage,
		},
		{
			name:       "unknown flag",
			args:       []string{"-frobnicate"},
			wantCode:   exitUsage,
			wantStderr: "valuesdoc: error: flag provided but not defined: -frobnicate\n",
		},
		{
			name:       "positional argument",
			args:       []string{"README.md"},
			wantCode:   exitUsage,
			wantStderr: "valuesdoc: error: unexpected argument \"README.md\" (use -write FILE or -check FILE)\n",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{
				"VALUES": filepath.Join(dir, "values.yaml"),
				"README": filepath.Join(dir, "README.md"),
			}
			require.NoError(t, os.WriteFile(files["VALUES"], []byte(tc.values), 0o644))
			if tc.readme != "" {
				require.NoError(t, os.WriteFile(files["README"], []byte(tc.readme), 0o644))
			}
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = a
				if f, ok := files[a]; ok {
					args[i] = f
				}
			}

			var stdout, stderr bytes.Buffer
			code := run(args, &stdout, &stderr)

			assert.Equal(t, tc.wantCode, code)
			assert.Equal(t, tc.wantStdout, stdout.String())
			gotStderr := stderr.String()
			for name, f := range files {
				gotStderr = strings.ReplaceAll(gotStderr, f, name)
			}
			if tc.wantStderr != "" || tc.wantCode == exitOK {
				assert.Equal(t, tc.wantStderr, gotStderr)
			} else {
				assert.Equal(t, 1, strings.Count(gotStderr, "\n"), "one line: %q", gotStderr)
				assert.True(t, strings.HasPrefix(gotStderr, "valuesdoc: error: "), gotStderr)
			}
			if tc.wantReadme != "" {
				got, err := os.ReadFile(files["README"])
				require.NoError(t, err)
				assert.Equal(t, tc.wantReadme, string(got))
			}
		})
	}
}

// TestRunDefaultValues finds charts/primus/values.yaml from the go.mod above
// the working directory (the package directory under go test).
func TestRunDefaultValues(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(nil, &stdout, &stderr)
	require.Equal(t, exitOK, code, stderr.String())
	assert.True(t, strings.HasPrefix(stdout.String(), tableHeader))
}

func TestRunHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.Equal(t, exitOK, run([]string{"-h"}, &stdout, &stderr))
	assert.Contains(t, stdout.String(), "-write FILE")
	assert.Empty(t, stderr.String())
}
