//go:build linux

package aggregation

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/primus-dev/primus/internal/hacheck/podrunner"
)

// waitAuditEvent waits until a replica's log (its standard output, where
// the chart's audit policy sends the management API's events) holds an
// audit event match accepts, and returns it.
func (p *platform) waitAuditEvent(t *testing.T, match func(*auditv1.Event) bool) *auditv1.Event {
	t.Helper()
	var found *auditv1.Event
	require.Eventually(t, func() bool {
		for _, inst := range p.runner.Instances() {
			for _, proc := range inst.Processes {
				rp, ok := proc.(*podrunner.ReplicaProcess)
				if !ok {
					continue
				}
				if found = auditEvent(rp.LogPath, match); found != nil {
					return true
				}
			}
		}
		return false
	}, 30*time.Second, 100*time.Millisecond, "no such audit event in the replicas' logs")
	return found
}

// auditEvent returns the first audit event in the log at path that match
// accepts: a line that decodes as an audit.k8s.io/v1 Event (the other
// lines are the replica's own JSON log).
func auditEvent(path string, match func(*auditv1.Event) bool) *auditv1.Event {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var e auditv1.Event
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Kind != "Event" || e.APIVersion != auditv1.SchemeGroupVersion.String() {
			continue
		}
		if match(&e) {
			return &e
		}
	}
	return nil
}
