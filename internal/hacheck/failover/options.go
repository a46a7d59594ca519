package failover

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/hacheck/render"
)

// Mode is how a round takes the leader down.
type Mode string

// The modes.
const (
	// Crash: kill -9. The Lease expires; a candidate takes it.
	Crash Mode = "crash"
	// Graceful: SIGTERM, as the kubelet stops a pod. The leader stops its
	// controllers and releases the Lease.
	Graceful Mode = "graceful"
	// Pause: SIGSTOP for longer than the lease duration, then SIGCONT. The
	// resumed process must find it lost the Lease and exit without acting
	// as leader.
	Pause Mode = "pause"
)

// AllModes are the modes in the order rounds run them.
var AllModes = []Mode{Crash, Graceful, Pause}

// ParseModes parses crash, graceful, pause or all.
func ParseModes(s string) ([]Mode, error) {
	switch Mode(strings.ToLower(s)) {
	case "all":
		return AllModes, nil
	case Crash, Graceful, Pause:
		return []Mode{Mode(strings.ToLower(s))}, nil
	}
	return nil, &render.InputError{Err: fmt.Errorf("--mode %q: want crash, graceful, pause or all", s)}
}

// Replicas is how many replicas a measurement runs.
const Replicas = 3

// Options configures Run.
type Options struct {
	// Render is the chart and its values; replicaCount=3 is set before the
	// caller's values. Render.Namespace defaults to DefaultNamespace.
	Render render.Options
	// Cluster is the cluster to run on. Nil starts one with
	// cluster.StartOrConnect(Kubeconfig, ClusterOptions), stopped at the
	// end (an opened one is left alone).
	Cluster        *cluster.Cluster
	Kubeconfig     string
	ClusterOptions cluster.Options
	// Rounds is the number of rounds per mode; default 3.
	Rounds int
	// Modes are the modes to run, each Rounds times, interleaved; default
	// AllModes.
	Modes []Mode
	// Binary is a built primus binary; empty builds cmd/primus.
	Binary string
	// WorkDir receives the binary, kubeconfigs and the replicas' logs.
	// Empty uses a temporary directory, removed at the end.
	WorkDir string
	// ProbeInterval is how often the API client calls each live replica;
	// default 150ms.
	ProbeInterval time.Duration
	// Progress receives a line per step. Nil discards.
	Progress io.Writer
}

// DefaultNamespace is the release namespace when Options leaves it empty:
// one of its own, so a measurement never shares a Lease with an install.
const DefaultNamespace = "primus-failover"

// withDefaults fills the zero fields and checks the rest.
func (o Options) withDefaults() (Options, error) {
	if o.Rounds == 0 {
		o.Rounds = 3
	}
	if o.Rounds < 0 {
		return o, &render.InputError{Err: fmt.Errorf("--rounds %d: want at least 1", o.Rounds)}
	}
	if len(o.Modes) == 0 {
		o.Modes = AllModes
	}
	if o.Render.Namespace == "" {
		o.Render.Namespace = DefaultNamespace
	}
	if o.Render.ReleaseName == "" {
		o.Render.ReleaseName = "primus"
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = 150 * time.Millisecond
	}
	o.Render.Set = append([]string{fmt.Sprintf("replicaCount=%d", Replicas)}, o.Render.Set...)
	return o, nil
}
