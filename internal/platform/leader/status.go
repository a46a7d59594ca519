package leader

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Status is the leadership as the Lease records it, seen by one replica.
type Status struct {
	// Lease is namespace/name of the Lease; empty without leader election.
	Lease string `json:"lease,omitempty"`
	// Holder is the identity holding the Lease; empty when released or
	// never held.
	Holder string `json:"holder"`
	// HolderPod is the Pod of the holder (HolderPod(Holder)): identities
	// are "<pod>_<suffix>", unique per process.
	HolderPod string `json:"holderPod"`
	// Identity is the identity of the replica answering.
	Identity string `json:"identity"`
	// IsLeader is true when the answering replica is the holder.
	IsLeader bool `json:"isLeader"`
	// Expired is true when the holder has not renewed within the lease
	// duration: the next candidate to try takes over.
	Expired bool `json:"expired"`
	// AcquireTime and RenewTime are the Lease's times.
	AcquireTime *time.Time `json:"acquireTime,omitempty"`
	RenewTime   *time.Time `json:"renewTime,omitempty"`
	// LeaseDurationSeconds is how long the holder's claim lasts.
	LeaseDurationSeconds int32 `json:"leaseDurationSeconds,omitempty"`
	// Transitions is the Lease's count of holder changes.
	Transitions int32 `json:"leaseTransitions"`
	// LeaderElection is false when the replica runs without election (it
	// then always leads).
	LeaderElection bool `json:"leaderElection"`
}

// Reader reads the current leader from the Lease with a plain Get (no
// informer: the chart grants no list or watch on Leases).
type Reader struct {
	// Kube reads the Lease.
	Kube kubernetes.Interface
	// Namespace and Name locate the Lease. An empty Name means leader
	// election is off and this replica always leads.
	Namespace, Name string
	// Identity is this replica's identity.
	Identity string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Leader returns the current leadership. A Lease that does not exist yet is
// no error: nobody leads.
func (r *Reader) Leader(ctx context.Context) (Status, error) {
	if r.Name == "" {
		return Status{Holder: r.Identity, HolderPod: HolderPod(r.Identity), Identity: r.Identity, IsLeader: true}, nil
	}
	st := Status{Lease: r.Namespace + "/" + r.Name, Identity: r.Identity, LeaderElection: true}
	lease, err := r.Kube.CoordinationV1().Leases(r.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return st, nil
	}
	if err != nil {
		return Status{}, fmt.Errorf("get lease %s: %w", st.Lease, err)
	}
	spec := lease.Spec
	if spec.HolderIdentity != nil {
		st.Holder = *spec.HolderIdentity
		st.HolderPod = HolderPod(st.Holder)
	}
	st.IsLeader = st.Holder != "" && st.Holder == r.Identity
	if spec.LeaseDurationSeconds != nil {
		st.LeaseDurationSeconds = *spec.LeaseDurationSeconds
	}
	if spec.LeaseTransitions != nil {
		st.Transitions = *spec.LeaseTransitions
	}
	if spec.AcquireTime != nil {
		t := spec.AcquireTime.Time
		st.AcquireTime = &t
	}
	if spec.RenewTime != nil {
		t := spec.RenewTime.Time
		st.RenewTime = &t
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	st.Expired = st.Holder == "" || st.RenewTime == nil ||
		now().After(st.RenewTime.Add(time.Duration(st.LeaseDurationSeconds)*time.Second))
	return st, nil
}
