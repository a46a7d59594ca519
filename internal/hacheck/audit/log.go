package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/primus-dev/primus/internal/platform"
)

// Process is one primus process, as its user agent names it.
type Process struct {
	// Identity is its leader-election identity.
	Identity string `json:"identity"`
	// PID is its process id.
	PID int `json:"pid"`
}

func (p Process) String() string { return fmt.Sprintf("%s (pid %d)", p.Identity, p.PID) }

// Request is one request of the audit log, as the oracle reads it.
type Request struct {
	// Process made it; zero for a request with another user agent.
	Process Process `json:"process"`
	// UserAgent is the request's User-Agent.
	UserAgent string `json:"userAgent"`
	// Component is what follows the process in the user agent:
	// "management-api" for the API server's requests, "leader-election"
	// for the Lease client's, "" for the manager's (the controllers).
	Component string `json:"component,omitempty"`
	Verb      string `json:"verb"`
	// Resource is resource[/subresource]; Namespace and Name the object.
	Resource  string `json:"resource"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	Code      int32  `json:"code"`
	// Received and Completed are the API server's timestamps.
	Received  time.Time `json:"received"`
	Completed time.Time `json:"completed"`
	// Lease is the Lease after a successful Lease write; nil otherwise.
	Lease *coordinationv1.Lease `json:"-"`
}

// Succeeded reports whether the API server did it.
func (r Request) Succeeded() bool { return r.Code >= 200 && r.Code < 300 }

// IsPrimus reports whether a primus process made it.
func (r Request) IsPrimus() bool { return r.Process.Identity != "" }

// ReadFile reads an audit log (JSON lines of audit.k8s.io/v1 Events) and
// returns its completed requests in the order the API server completed
// them.
func ReadFile(path string) ([]Request, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return Parse(raw)
}

// Parse reads audit log lines. A torn last line (the API server still
// writing) is skipped.
func Parse(raw []byte) ([]Request, error) {
	var out []Request
	s := bufio.NewScanner(bytes.NewReader(raw))
	s.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for s.Scan() {
		line := bytes.TrimSpace(s.Bytes())
		if len(line) == 0 {
			continue
		}
		var ev auditv1.Event
		if err := json.Unmarshal(line, &ev); err != nil {
			if !s.Scan() {
				break // the last line, half written
			}
			return nil, fmt.Errorf("audit log: %w", err)
		}
		if ev.Stage != auditv1.StageResponseComplete || ev.ObjectRef == nil {
			continue
		}
		out = append(out, request(ev))
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	slices.SortStableFunc(out, func(a, b Request) int { return a.Completed.Compare(b.Completed) })
	return out, nil
}

func request(ev auditv1.Event) Request {
	r := Request{
		UserAgent: ev.UserAgent, Verb: ev.Verb,
		Resource: ev.ObjectRef.Resource, Namespace: ev.ObjectRef.Namespace, Name: ev.ObjectRef.Name,
		Received: ev.RequestReceivedTimestamp.Time, Completed: ev.StageTimestamp.Time,
	}
	if ev.ObjectRef.Subresource != "" {
		r.Resource += "/" + ev.ObjectRef.Subresource
	}
	if ev.ResponseStatus != nil {
		r.Code = ev.ResponseStatus.Code
	}
	if id, pid, ok := platform.ParseUserAgent(ev.UserAgent); ok {
		r.Process = Process{Identity: id, PID: pid}
		r.Component = platform.UserAgentComponent(ev.UserAgent)
	}
	if r.Resource == "leases" && r.Succeeded() && ev.ResponseObject != nil && len(ev.ResponseObject.Raw) > 0 {
		var l coordinationv1.Lease
		if err := json.Unmarshal(ev.ResponseObject.Raw, &l); err == nil && l.Kind != "Status" {
			r.Lease = &l
			if r.Name == "" {
				r.Name = l.Name
			}
		}
	}
	return r
}

// resourceVersion orders two writes of one object: etcd's revisions.
func resourceVersion(l *coordinationv1.Lease) int64 {
	if l == nil {
		return 0
	}
	n, _ := strconv.ParseInt(l.ResourceVersion, 10, 64)
	return n
}
