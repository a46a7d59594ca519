package render

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"

	"github.com/primus-dev/primus/internal/hacheck/render"
)

func TestLeaderElectionFlowSchema(t *testing.T) {
	cases := []struct {
		name      string
		set       []string
		level, ns string // level "" means no FlowSchema
	}{
		{name: "default: the built-in leader-election level", level: "leader-election", ns: "primus-system"},
		{name: "Lease in another namespace", set: []string{"leaderElection.namespace=leases"}, level: "leader-election", ns: "leases"},
		{name: "a level of the user's", set: []string{"leaderElection.priorityLevel=platform-critical"}, level: "platform-critical", ns: "primus-system"},
		{name: "turned off", set: []string{"leaderElection.priorityLevel="}},
		{name: "no leader election", set: []string{"leaderElection.enabled=false", "strategy.type=Recreate", "strategy.rollingUpdate=null"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := renderChart(t, tc.set...)
			if tc.level == "" {
				assert.Empty(t, render.Find(res.Objects, "FlowSchema"))
				return
			}
			fs := only(t, res, "FlowSchema", &flowcontrolv1.FlowSchema{})
			assert.Equal(t, tc.level, fs.Spec.PriorityLevelConfiguration.Name)
			assert.Less(t, fs.Spec.MatchingPrecedence, int32(9000), "must win over the built-in service-accounts schema")
			require.Len(t, fs.Spec.Rules, 1)
			rule := fs.Spec.Rules[0]
			require.Len(t, rule.Subjects, 1)
			assert.Equal(t, &flowcontrolv1.ServiceAccountSubject{Name: "primus", Namespace: "primus-system"}, rule.Subjects[0].ServiceAccount)
			require.Len(t, rule.ResourceRules, 1)
			assert.Equal(t, []string{"leases"}, rule.ResourceRules[0].Resources)
			assert.Equal(t, []string{tc.ns}, rule.ResourceRules[0].Namespaces)
			assert.ElementsMatch(t, []string{"get", "create", "update"}, rule.ResourceRules[0].Verbs)
		})
	}
}
