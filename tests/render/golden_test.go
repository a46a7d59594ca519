package render

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGolden pins the full default and HA renders; review their diffs.
func TestGolden(t *testing.T) {
	cases := []struct {
		name string
		set  []string
	}{
		{name: "default", set: nil},
		{name: "ha", set: []string{"replicaCount=3"}},
		{name: "ha-hard", set: []string{"replicaCount=3", "podAntiAffinity=hard"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := renderChart(t, tc.set...).Manifest
			path := filepath.Join("testdata", tc.name+".golden.yaml")
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./tests/render -update to create it")
			assert.Equal(t, string(want), got)
		})
	}
}
