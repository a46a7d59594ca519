package verify

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/primus-dev/primus/internal/hacheck/invariants"
)

// Access is one question to the API server's authorizer about the
// workload's ServiceAccount, and the answer least privilege requires.
type Access struct {
	Verb, Group, Resource, Namespace, Name string
	// Allowed is the answer least privilege requires.
	Allowed bool
}

func (a Access) String() string {
	target := a.Resource
	if a.Group != "" {
		target += "." + a.Group
	}
	if a.Name != "" {
		target += "/" + a.Name
	}
	where := "cluster-wide"
	if a.Namespace != "" {
		where = "in " + a.Namespace
	}
	return fmt.Sprintf("%s %s %s", a.Verb, target, where)
}

// LeaseAccess is what a leader-elected workload's ServiceAccount may and may
// not do: exactly its own Lease, nothing else of the kind.
func LeaseAccess(le invariants.LeaderElection, otherNamespace string) []Access {
	const group, leases = "coordination.k8s.io", "leases"
	return []Access{
		{Verb: "get", Group: group, Resource: leases, Namespace: le.LeaseNamespace, Name: le.LeaseName, Allowed: true},
		{Verb: "update", Group: group, Resource: leases, Namespace: le.LeaseNamespace, Name: le.LeaseName, Allowed: true},
		{Verb: "create", Group: group, Resource: leases, Namespace: le.LeaseNamespace, Allowed: true},
		{Verb: "update", Group: group, Resource: leases, Namespace: le.LeaseNamespace, Name: "someone-elses-lease", Allowed: false},
		{Verb: "update", Group: group, Resource: leases, Namespace: otherNamespace, Name: le.LeaseName, Allowed: false},
		{Verb: "list", Group: "", Resource: "secrets", Namespace: le.LeaseNamespace, Allowed: false},
		{Verb: "get", Group: "", Resource: "secrets", Namespace: le.LeaseNamespace, Name: "any", Allowed: false},
	}
}

// Allowed asks the API server whether user may do a.
func Allowed(ctx context.Context, client kubernetes.Interface, user string, a Access) (bool, error) {
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   user,
		Groups: []string{"system:serviceaccounts", "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: a.Verb, Group: a.Group, Resource: a.Resource, Namespace: a.Namespace, Name: a.Name,
		},
	}}
	res, err := client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("SubjectAccessReview %s: %w", a, err)
	}
	return res.Status.Allowed, nil
}

// ServiceAccountUser is the username the API server gives a ServiceAccount.
func ServiceAccountUser(namespace, name string) string {
	return fmt.Sprintf("system:serviceaccount:%s:%s", namespace, name)
}

func checkRBAC(ctx context.Context, client kubernetes.Interface, d *appsv1.Deployment, le invariants.LeaderElection) []Check {
	user := ServiceAccountUser(d.Namespace, invariants.ServiceAccountOf(d))
	var out []Check
	for _, a := range LeaseAccess(le, le.LeaseNamespace+"-other") {
		allowed, err := Allowed(ctx, client, user, a)
		if err != nil {
			out = append(out, Check{ID: "rbac", Message: err.Error()})
			continue
		}
		verdict := map[bool]string{true: "allowed", false: "denied"}
		c := Check{ID: "rbac", Passed: allowed == a.Allowed,
			Message: fmt.Sprintf("%s: %s (want %s)", a, verdict[allowed], verdict[a.Allowed])}
		out = append(out, c)
	}
	return out
}
