package audit

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/internal/platform"
)

// micro is how the API server writes its MicroTime timestamps.
const micro = "2006-01-02T15:04:05.000000Z07:00"

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// logBuilder writes audit log lines as the API server does.
type logBuilder struct {
	lines []string
	rv    int
}

func (b *logBuilder) event(ua, verb, resource, sub, ns, name string, code int, recv, done float64, response any) {
	ev := map[string]any{
		"kind": "Event", "apiVersion": "audit.k8s.io/v1", "stage": "ResponseComplete", "verb": verb, "userAgent": ua,
		"objectRef":                map[string]any{"resource": resource, "subresource": sub, "namespace": ns, "name": name},
		"responseStatus":           map[string]any{"code": code},
		"requestReceivedTimestamp": at(recv).Format(micro), "stageTimestamp": at(done).Format(micro),
	}
	if response != nil {
		ev["responseObject"] = response
	}
	raw, _ := json.Marshal(ev)
	b.lines = append(b.lines, string(raw))
}

// lease logs a successful Lease update leaving holder ("" released).
func (b *logBuilder) lease(ua, holder string, s float64) {
	b.rv++
	spec := map[string]any{"leaseDurationSeconds": 4, "renewTime": at(s).Format(micro), "leaseTransitions": 1}
	if holder != "" {
		spec["holderIdentity"] = holder
	}
	b.event(ua, "update", "leases", "", "ns", "primus-leader", 200, s-0.01, s, map[string]any{
		"kind": "Lease", "apiVersion": "coordination.k8s.io/v1",
		"metadata": map[string]any{"name": "primus-leader", "namespace": "ns", "resourceVersion": fmt.Sprint(b.rv)}, "spec": spec,
	})
}

func (b *logBuilder) write(ua, resource, name string, s float64) {
	b.event(ua, "create", resource, "", "", name, 201, s, s+0.01, nil)
}

func ua(id string, pid int) string { return platform.UserAgent(id, pid) }

func TestOracle(t *testing.T) {
	a1, a2, b := ua("primus-a", 101), ua("primus-a", 202), ua("primus-b", 303)
	tests := []struct {
		name      string
		build     func(*logBuilder)
		wantKinds []string
		wantMsg   string
		tenures   int
	}{
		{
			name: "writes inside leadership, then a graceful handover",
			build: func(l *logBuilder) {
				l.lease(a1, "primus-a", 1)
				l.write(a1, "namespaces", "project-x", 1.5)
				l.lease(a1, "primus-a", 2)
				l.lease(a1, "", 3) // released
				l.lease(b, "primus-b", 3.5)
				l.write(b, "rolebindings", "x", 4)
			},
			tenures: 2,
		},
		{
			name: "a write after the release is outside leadership",
			build: func(l *logBuilder) {
				l.lease(a1, "primus-a", 1)
				l.lease(a1, "", 3)
				l.write(a1, "namespaces", "project-x", 3.2)
			},
			wantKinds: []string{"outside-tenure"}, wantMsg: "create namespaces /project-x by primus-a (pid 101)", tenures: 1,
		},
		{
			name: "a write by a process that never held the Lease",
			build: func(l *logBuilder) {
				l.lease(a1, "primus-a", 1)
				l.write(b, "projects/status", "x", 1.5)
			},
			wantKinds: []string{"outside-tenure"}, wantMsg: "the holder then was primus-a (pid 101)", tenures: 1,
		},
		{
			name: "a write after the lease ran out, nobody else writing",
			build: func(l *logBuilder) {
				l.lease(a1, "primus-a", 1)
				l.write(a1, "resourcequotas", "q", 5.5) // lease 4 s, last renewal at 1
			},
			wantKinds: []string{"outside-tenure"}, tenures: 1,
		},
		{
			name: "a container restarted in place: same identity, new process; the old one writes after the new one took over",
			build: func(l *logBuilder) {
				l.lease(a1, "primus-a", 1)
				l.lease(a2, "primus-a", 2) // the new process renews as the same identity
				l.write(a2, "namespaces", "project-y", 2.5)
				l.write(a1, "namespaces", "project-z", 2.6)
			},
			wantKinds: []string{"outside-tenure"}, wantMsg: "primus-a (pid 101)", tenures: 2,
		},
		{
			name: "the API servers' Project writes are the callers', on any replica",
			build: func(l *logBuilder) {
				l.lease(a1, "primus-a", 1)
				l.write(b+" "+platform.ManagementAPIComponent, "projects", "x", 1.5)
			},
			tenures: 1,
		},
		{
			name: "two processes' controller writes in flight at once",
			build: func(l *logBuilder) {
				l.lease(a1, "primus-a", 1)
				l.event(a1, "update", "namespaces", "", "", "p", 200, 1.9, 2.5, nil) // slow, received while leading
				l.lease(a1, "", 2)
				l.lease(b, "primus-b", 2.1)
				l.write(b, "namespaces", "p", 2.2)
			},
			wantKinds: []string{"concurrent"}, wantMsg: "in flight at once", tenures: 2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := &logBuilder{}
			tc.build(l)
			reqs, err := Parse([]byte(strings.Join(l.lines, "\n") + "\n"))
			require.NoError(t, err)
			rec := Analyse(reqs, Options{LeaseNamespace: "ns", LeaseName: "primus-leader"})
			var kinds []string
			var msgs string
			for _, v := range rec.Violations {
				kinds = append(kinds, v.Kind)
				msgs += v.Message + "\n"
			}
			assert.Equal(t, tc.wantKinds, kinds, msgs)
			assert.Contains(t, msgs, tc.wantMsg)
			assert.Len(t, rec.Tenures, tc.tenures, "%+v", rec.Tenures)
		})
	}
}

func TestParseSkipsATornLastLine(t *testing.T) {
	l := &logBuilder{}
	l.lease(ua("primus-a", 1), "primus-a", 1)
	reqs, err := Parse([]byte(l.lines[0] + "\n" + `{"kind":"Event","stage":"Resp`))
	require.NoError(t, err)
	require.Len(t, reqs, 1)
	assert.Equal(t, Process{Identity: "primus-a", PID: 1}, reqs[0].Process)
	require.NotNil(t, reqs[0].Lease)
	assert.Equal(t, "primus-a", *reqs[0].Lease.Spec.HolderIdentity)
}

func TestOracleScope(t *testing.T) {
	l := &logBuilder{}
	l.lease(ua("primus-a", 1), "primus-a", 1)
	l.write(ua("other-release-x", 9), "namespaces", "project-of-another-release", 1.5)
	reqs, err := Parse([]byte(strings.Join(l.lines, "\n")))
	require.NoError(t, err)
	all := Analyse(reqs, Options{LeaseNamespace: "ns", LeaseName: "primus-leader"})
	assert.Len(t, all.Violations, 1, "out of scope, a write by another release's leader looks like split brain")
	scoped := Analyse(reqs, Options{LeaseNamespace: "ns", LeaseName: "primus-leader", Scope: func(p Process) bool { return strings.HasPrefix(p.Identity, "primus-") }})
	assert.Empty(t, scoped.Violations)
}
