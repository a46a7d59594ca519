package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/values-table.golden.md from charts/primus/values.yaml")

// TestGoldenChartValues pins the table of the real chart: a new or changed
// value shows up in this diff, and an undocumented one fails it.
func TestGoldenChartValues(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", defaultValues))
	require.NoError(t, err)
	rows, err := Parse(data)
	require.NoError(t, err)
	got := Table(rows)

	path := filepath.Join("testdata", "values-table.golden.md")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./tools/valuesdoc -update to create it")
	assert.Equal(t, string(want), got)
}
