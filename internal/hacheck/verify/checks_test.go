package verify

import (
	"testing"

	"github.com/stretchr/testify/assert"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

func pods(spec ...[3]string) []Pod {
	var out []Pod
	for i, s := range spec {
		p := Pod{Name: "p" + string(rune('0'+i)), Phase: s[0], Ready: s[0] == "Running", Node: s[1], Zone: s[2]}
		if s[0] == "Pending" {
			p.Reason = "Unschedulable: 0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules."
		}
		out = append(out, p)
	}
	return out
}

func TestLiveChecks(t *testing.T) {
	soft := &appsv1.Deployment{}
	soft.Spec.Template.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: 100}},
	}}
	cases := []struct {
		name        string
		replicas    int
		pods        []Pod
		eligible    int
		zones       int
		wantReady   bool
		wantNodes   bool
		wantZones   bool
		wantMessage string
	}{
		{name: "three replicas on three nodes in three zones", replicas: 3, eligible: 3, zones: 3,
			pods:      pods([3]string{"Running", "n0", "a"}, [3]string{"Running", "n1", "b"}, [3]string{"Running", "n2", "c"}),
			wantReady: true, wantNodes: true, wantZones: true},
		{name: "hard anti-affinity on two nodes leaves one Pending and says why", replicas: 3, eligible: 2, zones: 2,
			pods:      pods([3]string{"Running", "n0", "a"}, [3]string{"Running", "n1", "b"}, [3]string{"Pending", "", ""}),
			wantReady: false, wantNodes: true, wantZones: true, wantMessage: "didn't match pod anti-affinity rules"},
		{name: "soft anti-affinity on two nodes stacks two replicas, which is all it can do", replicas: 3, eligible: 2, zones: 2,
			pods:      pods([3]string{"Running", "n0", "a"}, [3]string{"Running", "n1", "b"}, [3]string{"Running", "n1", "b"}),
			wantReady: true, wantNodes: true, wantZones: true},
		{name: "all replicas on one node although three are eligible", replicas: 3, eligible: 3, zones: 3,
			pods:      pods([3]string{"Running", "n0", "a"}, [3]string{"Running", "n0", "a"}, [3]string{"Running", "n0", "a"}),
			wantReady: true, wantNodes: false, wantZones: false, wantMessage: "soft anti-affinity lets the scheduler stack replicas"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := &Report{Replicas: tc.replicas, Pods: tc.pods}
			zones := map[string]bool{}
			for i := 0; i < tc.zones; i++ {
				zones[string(rune('a'+i))] = true
			}
			ready, nodes, zoneCheck := checkReady(rep), checkNodeSpread(rep, soft, tc.eligible), checkZoneSpread(rep, zones)
			assert.Equal(t, tc.wantReady, ready.Passed, ready.Message)
			assert.Equal(t, tc.wantNodes, nodes.Passed, nodes.Message)
			assert.Equal(t, tc.wantZones, zoneCheck.Passed, zoneCheck.Message)
			if tc.wantMessage != "" {
				assert.Contains(t, ready.Message+" "+nodes.Message, tc.wantMessage)
			}
			rep.Checks = []Check{ready, nodes, zoneCheck}
			assert.Equal(t, tc.wantReady && tc.wantNodes && tc.wantZones, rep.Passed())
		})
	}
}
