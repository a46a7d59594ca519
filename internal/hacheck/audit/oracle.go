package audit

import (
	"fmt"
	"slices"
	"time"
)

// Tenure is a span in which one process held the Lease, from the API
// server's records: from the write that made it the holder to the first
// Lease write that took it away (a release, a takeover by another
// process, a foreign write), or to its last renewal plus the lease
// duration, when the Lease expired first.
type Tenure struct {
	Process Process `json:"process"`
	// Start is when the write that made it the holder completed.
	Start time.Time `json:"start"`
	// LastRenewal is when its last write of the Lease completed.
	LastRenewal time.Time `json:"lastRenewal"`
	// End is when the tenure ended; zero while it lasts.
	End time.Time `json:"end,omitempty"`
	// EndedBy says what ended it: "released", "taken by <process>",
	// "written by <user agent>", "expired".
	EndedBy string `json:"endedBy,omitempty"`
	// Renewals counts its Lease writes after the first.
	Renewals int `json:"renewals"`
	// Transitions is the Lease's leaseTransitions as the tenure began.
	Transitions int32 `json:"transitions"`
	// leaseDuration is the Lease's duration as last written.
	leaseDuration time.Duration
}

// holds reports whether the tenure covers t.
func (t Tenure) holds(at time.Time) bool {
	return !at.Before(t.Start) && (t.End.IsZero() || at.Before(t.End))
}

// Violation is a controller write the API server took while the process
// that sent it did not lead, or while another process's controller write
// was in flight.
type Violation struct {
	// Kind is "outside-tenure" or "concurrent".
	Kind    string   `json:"kind"`
	Write   Request  `json:"write"`
	Other   *Request `json:"other,omitempty"`
	Message string   `json:"message"`
}

// Record is what the oracle found in an audit log.
type Record struct {
	// Lease is namespace/name of the leader Lease.
	Lease string `json:"lease"`
	// Tenures are the Lease's holders in order.
	Tenures []Tenure `json:"tenures"`
	// Writes are the controller writes (successful), in completion order.
	Writes []Request `json:"writes"`
	// Processes are every primus process that wrote the Lease or a
	// controller object, in order of first appearance.
	Processes []Process `json:"processes"`
	// Violations are the split brains; empty when there was none.
	Violations []Violation `json:"violations"`
}

// controllerResources are what the Project controller writes: a write to
// one by a primus process's manager (not its API server) is controller
// work, which only the leader may do.
var controllerResources = []string{"projects", "projects/status", "namespaces", "rolebindings", "resourcequotas"}

// isWrite reports whether verb changes an object.
func isWrite(verb string) bool {
	return slices.Contains([]string{"create", "update", "patch", "delete", "deletecollection"}, verb)
}

// IsControllerWrite reports whether r is a successful controller write by
// a primus process. Project writes of the replicas' API servers (their
// user agent ends in "management-api") are the callers', not the
// controller's.
func IsControllerWrite(r Request) bool {
	return r.IsPrimus() && r.Component == "" && r.Succeeded() && isWrite(r.Verb) && slices.Contains(controllerResources, r.Resource)
}

// Options say which leadership to judge.
type Options struct {
	// LeaseNamespace and LeaseName locate the leader Lease.
	LeaseNamespace, LeaseName string
	// From and To bound the controller writes judged, by completion;
	// zero is unbounded.
	From, To time.Time
	// Scope keeps the processes of the release under test: Projects and
	// Namespaces are cluster-scoped, so other releases' leaders write them
	// too. Nil keeps every primus process.
	Scope func(Process) bool
}

// Analyse derives the tenures of the Lease and judges every controller
// write of the processes in scope.
func Analyse(reqs []Request, opts Options) *Record {
	namespace, name, from, to := opts.LeaseNamespace, opts.LeaseName, opts.From, opts.To
	rec := &Record{Lease: namespace + "/" + name, Tenures: []Tenure{}, Writes: []Request{}, Violations: []Violation{}}
	seen := map[Process]bool{}
	note := func(p Process) {
		if p.Identity != "" && !seen[p] {
			seen[p] = true
			rec.Processes = append(rec.Processes, p)
		}
	}
	leaseWrites := slices.DeleteFunc(slices.Clone(reqs), func(r Request) bool {
		return r.Resource != "leases" || r.Namespace != namespace || r.Name != name || !r.Succeeded() || r.Lease == nil
	})
	// The API server serializes the writes of one object: order them by
	// the revision each produced.
	slices.SortStableFunc(leaseWrites, func(a, b Request) int {
		return int(resourceVersion(a.Lease) - resourceVersion(b.Lease))
	})
	for _, w := range leaseWrites {
		note(w.Process)
		rec.Tenures = applyLeaseWrite(rec.Tenures, w)
	}
	for _, r := range reqs {
		if !IsControllerWrite(r) || (!from.IsZero() && r.Completed.Before(from)) || (!to.IsZero() && r.Completed.After(to)) {
			continue
		}
		if opts.Scope != nil && !opts.Scope(r.Process) {
			continue
		}
		note(r.Process)
		rec.Writes = append(rec.Writes, r)
	}
	rec.Violations = judge(rec.Tenures, rec.Writes)
	return rec
}

// applyLeaseWrite updates the tenures with one successful Lease write.
func applyLeaseWrite(tenures []Tenure, w Request) []Tenure {
	holder := ""
	if w.Lease.Spec.HolderIdentity != nil {
		holder = *w.Lease.Spec.HolderIdentity
	}
	var duration time.Duration
	if d := w.Lease.Spec.LeaseDurationSeconds; d != nil {
		duration = time.Duration(*d) * time.Second
	}
	var transitions int32
	if t := w.Lease.Spec.LeaseTransitions; t != nil {
		transitions = *t
	}
	at := w.Completed
	var cur *Tenure
	if n := len(tenures); n > 0 && tenures[n-1].End.IsZero() {
		cur = &tenures[n-1]
		// A tenure whose holder stopped renewing ended when its lease ran
		// out, whoever writes next.
		if cur.leaseDuration > 0 && at.After(cur.LastRenewal.Add(cur.leaseDuration)) {
			cur.End, cur.EndedBy = cur.LastRenewal.Add(cur.leaseDuration), "expired"
			cur = nil
		}
	}
	ownWrite := w.IsPrimus() && holder == w.Process.Identity
	switch {
	case cur != nil && ownWrite && cur.Process == w.Process:
		cur.LastRenewal, cur.leaseDuration = at, duration
		cur.Renewals++
		return tenures
	case cur != nil:
		cur.End = at
		switch {
		case holder == "":
			cur.EndedBy = "released"
		case ownWrite:
			cur.EndedBy = "taken by " + w.Process.String()
		default:
			cur.EndedBy = "written by " + w.UserAgent
		}
	}
	if ownWrite {
		tenures = append(tenures, Tenure{Process: w.Process, Start: at, LastRenewal: at, Transitions: transitions, leaseDuration: duration})
	}
	return tenures
}

// judge finds the controller writes made outside the writer's tenure and
// the pairs of controller writes of two processes in flight at once.
func judge(tenures []Tenure, writes []Request) []Violation {
	out := []Violation{}
	for _, w := range writes {
		if slices.ContainsFunc(tenures, func(t Tenure) bool {
			return t.Process == w.Process && t.holds(w.Received) && expiryAfter(t, w.Received)
		}) {
			continue
		}
		out = append(out, Violation{Kind: "outside-tenure", Write: w,
			Message: fmt.Sprintf("%s %s %s/%s by %s at %s, outside its leadership (%s)", w.Verb, w.Resource, w.Namespace, w.Name,
				w.Process, w.Received.UTC().Format("15:04:05.000000"), holderAt(tenures, w.Received))})
	}
	for i, a := range writes {
		for _, b := range writes[i+1:] {
			if a.Process == b.Process || !b.Received.Before(a.Completed) || !a.Received.Before(b.Completed) {
				continue
			}
			b := b
			out = append(out, Violation{Kind: "concurrent", Write: a, Other: &b,
				Message: fmt.Sprintf("controller writes of two processes in flight at once: %s %s/%s by %s and %s %s/%s by %s",
					a.Verb, a.Resource, a.Name, a.Process, b.Verb, b.Resource, b.Name, b.Process)})
		}
	}
	return out
}

// expiryAfter reports whether t's lease, as last renewed, was still valid
// at at: a holder that stopped renewing leads no longer once it ran out,
// even if nobody has written the Lease since.
func expiryAfter(t Tenure, at time.Time) bool {
	return t.leaseDuration == 0 || at.Before(t.LastRenewal.Add(t.leaseDuration))
}

// holderAt names the holder at a moment, for messages.
func holderAt(tenures []Tenure, at time.Time) string {
	for _, t := range tenures {
		if t.holds(at) {
			return "the holder then was " + t.Process.String()
		}
	}
	return "nobody held the Lease then"
}

// ProcessTenures returns the tenures of p.
func (r *Record) ProcessTenures(p Process) []Tenure {
	return slices.DeleteFunc(slices.Clone(r.Tenures), func(t Tenure) bool { return t.Process != p })
}
