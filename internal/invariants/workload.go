package invariants

import (
	appsv1 "k8s.io/api/apps/v1"
	policyv1 "k8s.io/api/policy/v1"
)

// LeaderElected returns the first Deployment configured for leader election,
// or else the first Deployment; nil when there is none.
func (m *Manifest) LeaderElected() *appsv1.Deployment {
	for _, d := range m.Deployments {
		if leaderElection(d).Configured {
			return d
		}
	}
	if len(m.Deployments) > 0 {
		return m.Deployments[0]
	}
	return nil
}

// LeaderElectionOf reads a Deployment's leader-election flags.
func LeaderElectionOf(d *appsv1.Deployment) LeaderElection { return leaderElection(d) }

// ServiceAccountOf is the ServiceAccount a Deployment's pods run as.
func ServiceAccountOf(d *appsv1.Deployment) string { return serviceAccount(d) }

// PDBsFor are the PodDisruptionBudgets that select the Deployment's pods.
func (m *Manifest) PDBsFor(d *appsv1.Deployment) []*policyv1.PodDisruptionBudget {
	return m.pdbsFor(d)
}
