package verify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/primus-dev/primus/internal/hacheck/invariants"
	mgmtv1 "github.com/primus-dev/primus/internal/platform/apis/management/v1alpha1"
	"github.com/primus-dev/primus/internal/platform/leader"
)

// The ids of the leadership checks, in report order.
const (
	CheckLeader        = "leader"
	CheckLeaseRenewed  = "lease-renewed"
	CheckReplicasAPI   = "replicas-api"
	CheckNonLeaders    = "non-leaders-ready"
	CheckLeadingMetric = "leading-metric"
)

// LeadershipChecks are the ids of the checks that need a running leader:
// a release whose Pods run nothing (kwok's, without a podrunner) fails
// them, as it should.
var LeadershipChecks = []string{CheckLeader, CheckLeaseRenewed, CheckReplicasAPI, CheckNonLeaders, CheckLeadingMetric}

// ReplicaClient asks one replica process what the leadership checks need.
// *replica.Replica is one.
type ReplicaClient interface {
	// ServesAPI lists Projects through the replica's API (the Kubernetes
	// API server for management.primus.dev), authenticated with token, and
	// returns an error unless it answered with a list.
	ServesAPI(ctx context.Context, token string) error
	// LeaderGauge scrapes the process's primus_leader metric.
	LeaderGauge(ctx context.Context) (float64, error)
}

// Replicas reaches the processes behind a release's Pods.
type Replicas interface {
	// For returns a client for the process of Pod name, or an error saying
	// why it cannot be reached.
	For(ctx context.Context, pod string) (ReplicaClient, error)
	// Token returns a bearer token the replicas' API accepts.
	Token(ctx context.Context) (string, error)
}

// Leader is the leadership verify observed.
type Leader struct {
	// Holder is the Lease's holderIdentity; Pod is the Pod it names.
	Holder string `json:"holder"`
	Pod    string `json:"pod"`
	// RenewedAgo is how long before the report the holder last renewed.
	RenewedAgo Duration `json:"renewedAgo"`
	// RenewInterval is the time between the two renewals observed.
	RenewInterval Duration `json:"renewInterval"`
	// Transitions is the Lease's leaseTransitions.
	Transitions int32 `json:"transitions"`
	// LeaseDuration is the Lease's leaseDurationSeconds.
	LeaseDuration Duration `json:"leaseDuration"`
}

// Duration is a time.Duration that reads as "1.2s" in JSON too.
type Duration time.Duration

// MarshalText prints d as time.Duration does, to the millisecond.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(time.Duration(d).Round(time.Millisecond).String()), nil
}

// leaseObservation is two readings of the Lease.
type leaseObservation struct {
	first, last *coordinationv1.Lease
	lastAt      time.Time
	duration    time.Duration
	err         error
}

// observeLease reads the Lease and polls it until its renewTime moves or
// one lease duration has passed: a live leader renews every retry period,
// so a Lease that stays still that long has a stale holder.
func observeLease(ctx context.Context, client kubernetes.Interface, le invariants.LeaderElection, poll time.Duration) leaseObservation {
	get := func() (*coordinationv1.Lease, error) {
		return client.CoordinationV1().Leases(le.LeaseNamespace).Get(ctx, le.LeaseName, metav1.GetOptions{})
	}
	first, err := get()
	if err != nil {
		return leaseObservation{err: err}
	}
	o := leaseObservation{first: first, last: first, lastAt: time.Now(), duration: leaseDuration(first, le)}
	if holder(first) == "" {
		return o
	}
	deadline := time.Now().Add(o.duration)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			o.err = ctx.Err()
			return o
		case <-time.After(poll):
		}
		l, err := get()
		if err != nil {
			o.err = err
			return o
		}
		o.last, o.lastAt = l, time.Now()
		if !renewTime(l).Equal(renewTime(first)) || holder(l) != holder(first) {
			return o
		}
	}
	return o
}

// leaseDuration is how long a holder's claim lasts: the shorter of the
// workload's --lease-duration and the Lease's leaseDurationSeconds (a
// Lease written with a longer one must not make verify wait longer than
// the replicas' own configuration allows between renewals).
func leaseDuration(l *coordinationv1.Lease, le invariants.LeaderElection) time.Duration {
	d := 15 * time.Second
	if le.LeaseDuration > 0 {
		d = le.LeaseDuration
	}
	if s := l.Spec.LeaseDurationSeconds; s != nil && *s > 0 && time.Duration(*s)*time.Second < d {
		d = time.Duration(*s) * time.Second
	}
	return d
}

func holder(l *coordinationv1.Lease) string {
	if l == nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func renewTime(l *coordinationv1.Lease) time.Time {
	if l == nil || l.Spec.RenewTime == nil {
		return time.Time{}
	}
	return l.Spec.RenewTime.Time
}

func transitions(l *coordinationv1.Lease) int32 {
	if l == nil || l.Spec.LeaseTransitions == nil {
		return 0
	}
	return *l.Spec.LeaseTransitions
}

// leaseName is namespace/name of the Lease.
func leaseName(le invariants.LeaderElection) string { return le.LeaseNamespace + "/" + le.LeaseName }

// checkLeadership runs the leadership checks on the release whose Pods
// are r.Pods, and sets r.Leader when there is a holder.
func checkLeadership(ctx context.Context, client kubernetes.Interface, r *Report, le invariants.LeaderElection, d *appsv1.Deployment, opts Options) []Check {
	o := observeLease(ctx, client, le, opts.poll())
	if o.err != nil {
		msg := fmt.Sprintf("Lease %s: %v", leaseName(le), o.err)
		var out []Check
		for _, id := range LeadershipChecks {
			out = append(out, Check{ID: id, Message: msg})
		}
		return out
	}
	h := holder(o.last)
	holderPod := leader.HolderPod(h)
	if h != "" {
		r.Leader = &Leader{
			Holder: h, Pod: holderPod, Transitions: transitions(o.last), LeaseDuration: Duration(o.duration),
			RenewedAgo:    Duration(max(0, o.lastAt.Sub(renewTime(o.last)))),
			RenewInterval: Duration(renewTime(o.last).Sub(renewTime(o.first))),
		}
	}
	out := []Check{checkHolder(r, le, h, holderPod), checkRenewed(o, le)}
	if runsPrimus(d) {
		out = append(out, checkReplicas(ctx, r, holderPod, servesAPI(d), opts)...)
	}
	out = append(out, checkNonLeaders(r, holderPod))
	// checkReplicas returns the API check and the metric check; keep the
	// documented order: leader, lease-renewed, replicas-api,
	// non-leaders-ready, leading-metric.
	slices.SortStableFunc(out, func(a, b Check) int {
		return slices.Index(LeadershipChecks, a.ID) - slices.Index(LeadershipChecks, b.ID)
	})
	return out
}

// runsPrimus reports whether d's container runs the primus binary (its
// API and metrics flags): only then can its replicas be asked who leads.
func runsPrimus(d *appsv1.Deployment) bool {
	for _, c := range d.Spec.Template.Spec.Containers {
		args := append(append([]string{}, c.Command...), c.Args...)
		api := slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--api-bind-address") })
		metrics := slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--metrics-bind-address") })
		if api && metrics {
			return true
		}
	}
	return false
}

// servesAPI reports whether d's primus containers serve the API: the
// address they listen on (invariants.PrimusAPIAddress) is not 0.
func servesAPI(d *appsv1.Deployment) bool {
	for _, c := range d.Spec.Template.Spec.Containers {
		if invariants.PrimusAPIAddress(append(append([]string{}, c.Command...), c.Args...)) == "0" {
			return false
		}
	}
	return true
}

// checkHolder: the Lease has a holder, and it is a Running, Ready Pod of
// this release.
func checkHolder(r *Report, le invariants.LeaderElection, h, holderPod string) Check {
	c := Check{ID: CheckLeader}
	if h == "" {
		c.Message = fmt.Sprintf("Lease %s has no holder: no replica leads", leaseName(le))
		return c
	}
	i := slices.IndexFunc(r.Pods, func(p Pod) bool { return p.Name == holderPod })
	switch {
	case i < 0:
		c.Message = fmt.Sprintf("holder %q is not a Pod of this release (%s)", h, podNames(r.Pods))
	case r.Pods[i].Phase != "Running" || !r.Pods[i].Ready:
		c.Message = fmt.Sprintf("holder %s is %s, not Running and Ready", holderPod, podState(r.Pods[i]))
	default:
		c.Passed = true
		c.Message = fmt.Sprintf("%s (renewed %s ago, %d transitions)", holderPod,
			time.Duration(r.Leader.RenewedAgo).Round(100*time.Millisecond), r.Leader.Transitions)
		if holderPod != h {
			c.Message += ", identity " + h
		}
	}
	return c
}

// checkRenewed: two renewTimes observed within one lease duration, by the
// same holder.
func checkRenewed(o leaseObservation, le invariants.LeaderElection) Check {
	c := Check{ID: CheckLeaseRenewed}
	h0, h1 := holder(o.first), holder(o.last)
	r0, r1 := renewTime(o.first), renewTime(o.last)
	switch {
	case h0 == "":
		c.Message = fmt.Sprintf("Lease %s has no holder to renew it", leaseName(le))
	case h1 != h0:
		c.Message = fmt.Sprintf("the holder changed from %s to %q while verify watched the Lease", h0, h1)
	case r1.Equal(r0):
		c.Message = fmt.Sprintf("%s did not renew within the %s lease duration (renewTime stays %s): a stale holder",
			h0, o.duration, r0.UTC().Format(time.RFC3339Nano))
	case r1.Sub(r0) > o.duration:
		c.Message = fmt.Sprintf("%s renewed %s after its previous renewal, more than the %s lease duration", h0, r1.Sub(r0), o.duration)
	default:
		c.Passed = true
		c.Message = fmt.Sprintf("%s renewed twice %s apart (lease duration %s)", h0, r1.Sub(r0).Round(time.Millisecond), o.duration)
	}
	return c
}

// checkNonLeaders: every Pod but the holder's is Running and Ready.
func checkNonLeaders(r *Report, holderPod string) Check {
	c := Check{ID: CheckNonLeaders}
	var others, ready int
	var not []string
	for _, p := range r.Pods {
		if p.Name == holderPod {
			continue
		}
		others++
		if p.Phase == "Running" && p.Ready {
			ready++
		} else {
			not = append(not, fmt.Sprintf("%s is %s", p.Name, podState(p)))
		}
	}
	c.Passed = ready == others && others == max(0, r.Replicas-1)
	c.Message = fmt.Sprintf("%d/%d non-leaders Running and Ready", ready, max(0, r.Replicas-1))
	if len(not) > 0 {
		c.Message += "; " + strings.Join(not, "; ")
	}
	return c
}

// replicaAnswer is what one replica process said.
type replicaAnswer struct {
	pod     string
	apiErr  error
	gauge   float64
	gaugeOK bool
	gErr    error
}

// checkReplicas asks every replica process, at once, for a list of
// Projects through its authenticated API and whether it leads through
// primus_leader. With apiOn false (--api-bind-address=0) there is no API to
// ask: it asks for no token and returns the metric check only.
func checkReplicas(ctx context.Context, r *Report, holderPod string, apiOn bool, opts Options) []Check {
	// Both checks, or the metric check alone when there is no API.
	checks := func(api, metric Check) []Check {
		if !apiOn {
			return []Check{metric}
		}
		return []Check{api, metric}
	}
	failed := func(msg string) []Check {
		return checks(Check{ID: CheckReplicasAPI, Message: msg}, Check{ID: CheckLeadingMetric, Message: msg})
	}
	if opts.Replicas == nil {
		return failed("no way to reach the replica processes from here")
	}
	var token string
	if apiOn {
		var err error
		if token, err = opts.Replicas.Token(ctx); err != nil {
			return failed(fmt.Sprintf("token for the replicas' API: %v", err))
		}
	}
	answers := make([]replicaAnswer, len(r.Pods))
	var wg sync.WaitGroup
	for i, p := range r.Pods {
		wg.Go(func() {
			a := replicaAnswer{pod: p.Name}
			rc, err := opts.Replicas.For(ctx, p.Name)
			if err != nil {
				a.apiErr, a.gErr = err, err
				answers[i] = a
				return
			}
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if apiOn {
				a.apiErr = rc.ServesAPI(cctx, token)
			}
			a.gauge, a.gErr = rc.LeaderGauge(cctx)
			a.gaugeOK = a.gErr == nil
			answers[i] = a
		})
	}
	wg.Wait()
	return checks(judgeAPI(answers), judgeMetric(answers, holderPod))
}

func judgeAPI(answers []replicaAnswer) Check {
	c := Check{ID: CheckReplicasAPI}
	var bad []string
	for _, a := range answers {
		if a.apiErr != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", a.pod, a.apiErr))
		}
	}
	if len(answers) == 0 {
		c.Message = "no replica to ask"
		return c
	}
	if len(bad) > 0 {
		c.Message = fmt.Sprintf("%d/%d replicas answer an authenticated list of %s; %s", len(answers)-len(bad), len(answers), apiResource, strings.Join(bad, "; "))
		return c
	}
	c.Passed = true
	c.Message = fmt.Sprintf("%d/%d replicas answer an authenticated list of %s, leader or not", len(answers), len(answers), apiResource)
	return c
}

// apiResource names what the replicas-api check lists, as kubectl names it.
const apiResource = mgmtv1.Resource + "." + mgmtv1.GroupName

func judgeMetric(answers []replicaAnswer, holderPod string) Check {
	c := Check{ID: CheckLeadingMetric}
	var leading, unknown []string
	for _, a := range answers {
		switch {
		case !a.gaugeOK:
			unknown = append(unknown, fmt.Sprintf("%s: %v", a.pod, a.gErr))
		case a.gauge == 1:
			leading = append(leading, a.pod)
		}
	}
	switch {
	case len(unknown) > 0:
		c.Message = "primus_leader unreadable: " + strings.Join(unknown, "; ")
	case holderPod == "" && len(leading) > 0:
		c.Message = fmt.Sprintf("primus_leader=1 on %s but the Lease has no holder", strings.Join(leading, ", "))
	case holderPod == "":
		c.Message = "no replica reports primus_leader=1, and the Lease has no holder"
	case len(leading) == 1 && leading[0] == holderPod:
		c.Passed = true
		c.Message = fmt.Sprintf("only %s reports primus_leader=1 (%d replicas asked)", holderPod, len(answers))
	case len(leading) == 0:
		c.Message = fmt.Sprintf("no replica reports primus_leader=1, not even the holder %s", holderPod)
	default:
		c.Message = fmt.Sprintf("primus_leader=1 on %s; only the holder %s may lead", strings.Join(leading, ", "), holderPod)
	}
	return c
}

func podNames(pods []Pod) string {
	if len(pods) == 0 {
		return "it has no Pods"
	}
	var names []string
	for _, p := range pods {
		names = append(names, p.Name)
	}
	return "its Pods: " + strings.Join(names, ", ")
}

func podState(p Pod) string {
	s := p.Phase
	if p.Phase == "Running" && !p.Ready {
		s += " but not Ready"
	}
	return s
}
