package bench

import (
	"fmt"
	"path/filepath"
	"runtime"
)

// renderCase is one value set of the render benchmark's matrix.
type renderCase struct {
	name string
	set  map[string]string
}

// renderMatrix is 100 value sets: 5 replica counts x 2 anti-affinity modes
// x 5 PDB settings x 2 lease settings.
func renderMatrix() []renderCase {
	var out []renderCase
	pdbs := []map[string]string{
		{},
		{"podDisruptionBudget.maxUnavailable": "1"},
		{"podDisruptionBudget.maxUnavailable": "34%"},
		{"podDisruptionBudget.minAvailable": "1"},
		{"podDisruptionBudget.enabled": "false"},
	}
	leases := []map[string]string{
		{},
		{"leaderElection.leaseDuration": "4s", "leaderElection.renewDeadline": "3s", "leaderElection.retryPeriod": "1s"},
	}
	for replicas := 1; replicas <= 5; replicas++ {
		for _, mode := range []string{"soft", "hard"} {
			for pi, pdb := range pdbs {
				for li, lease := range leases {
					set := map[string]string{"replicaCount": fmt.Sprint(replicas), "podAntiAffinity": mode}
					for k, v := range pdb {
						set[k] = v
					}
					for k, v := range lease {
						set[k] = v
					}
					out = append(out, renderCase{name: fmt.Sprintf("r%d-%s-pdb%d-lease%d", replicas, mode, pi, li), set: set})
				}
			}
		}
	}
	return out
}

func chartPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "charts", "primus")
}

func setFlags(set map[string]string) []string {
	var out []string
	for k, v := range set {
		out = append(out, k+"="+v)
	}
	return out
}
