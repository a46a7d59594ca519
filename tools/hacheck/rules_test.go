package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestREADMERuleTable: the README lists every rule exactly as `hacheck
// rules` prints it, between its markers.
func TestREADMERuleTable(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	const begin, end = "<!-- hacheck rules: begin (go run ./tools/hacheck rules) -->\n", "<!-- hacheck rules: end -->"
	_, rest, ok := strings.Cut(string(readme), begin)
	require.True(t, ok, "README.md has no %q marker", begin)
	table, _, ok := strings.Cut(rest, end)
	require.True(t, ok, "README.md has no %q marker", end)
	assert.Equal(t, rulesTable(), table, "README.md's rule table is stale: paste `go run ./tools/hacheck rules` between the markers")
	code, stdout, _ := hacheck("rules")
	assert.Equal(t, 0, code)
	assert.Equal(t, rulesTable(), stdout)
}
