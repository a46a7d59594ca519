package hacheck_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/pkg/hacheck"
)

// recorder is a testing.TB that records instead of failing.
type recorder struct {
	testing.TB
	fatal string
	logs  []string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
}
func (r *recorder) Logf(format string, args ...any) {
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

func TestRequireHA(t *testing.T) {
	cases := []struct {
		name      string
		set       []string
		manifest  string
		wantFatal []string
	}{
		{name: "holds", set: []string{"replicaCount=3"}},
		{name: "lists each finding on its own line", set: []string{"replicaCount=3", "podDisruptionBudget.enabled=false", "strategy.rollingUpdate.maxUnavailable=2"},
			wantFatal: []string{"2 finding(s):\n", "\n  [pdb-present] Deployment/default/release-name-primus: ", "\n  [rollout] Deployment/default/release-name-primus: "}},
		{name: "bad manifest", manifest: "kind: [unclosed", wantFatal: []string{"hacheck: decode manifest"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			manifest := tc.manifest
			if manifest == "" {
				var err error
				manifest, err = hacheck.Render(hacheck.ChartOptions{Chart: primusChart, Set: tc.set})
				require.NoError(t, err)
			}
			rec := &recorder{TB: t}
			hacheck.RequireHA(rec, manifest)
			if len(tc.wantFatal) == 0 {
				assert.Empty(t, rec.fatal)
				return
			}
			for _, want := range tc.wantFatal {
				assert.Contains(t, rec.fatal, want)
			}
		})
	}
}
