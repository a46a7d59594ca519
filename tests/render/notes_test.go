package render

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestNotes checks what the install tells the operator: whether the install
// is HA, the 2-replica and hard anti-affinity warnings, and how to see the
// leader.
func TestNotes(t *testing.T) {
	cases := []struct {
		name    string
		set     []string
		want    []string
		notWant []string
	}{
		{name: "single replica says how to become HA", want: []string{"Mode: single replica (not highly available)", "--reuse-values --set replicaCount=3"}, notWant: []string{"WARNING"}},
		{name: "three replicas is HA", set: []string{"replicaCount=3"}, want: []string{"Mode: highly available, 3 replicas", "Lease primus-system/primus-leader"}, notWant: []string{"WARNING"}},
		{name: "two replicas warns", set: []string{"replicaCount=2"}, want: []string{"WARNING: 2 replicas", "Use at least 3"}},
		{name: "hard anti-affinity needs nodes", set: []string{"replicaCount=5", "podAntiAffinity=hard"}, want: []string{"podAntiAffinity=hard needs 5 schedulable nodes"}},
		{name: "how to see the leader", want: []string{"kubectl get lease -n primus-system primus-leader -o jsonpath='{.spec.holderIdentity}'"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			notes := renderChart(t, tc.set...).Notes
			for _, w := range tc.want {
				assert.Contains(t, notes, w)
			}
			for _, w := range tc.notWant {
				assert.NotContains(t, notes, w)
			}
		})
	}
}
