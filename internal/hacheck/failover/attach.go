package failover

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/hacheck/progress"
	"github.com/primus-dev/primus/internal/hacheck/render"
	"github.com/primus-dev/primus/internal/hacheck/replica"
)

// AttachOptions configures Attach: rounds on a release that is already
// installed, whose replicas someone else runs.
type AttachOptions struct {
	// Cluster is where the release runs. When its API server writes an
	// audit log (cluster.Options.AuditPolicy = audit.Policy), that log is
	// the split-brain oracle; otherwise the processes' logs are.
	Cluster *cluster.Cluster
	// Chart names the chart in the report.
	Chart string
	// Objects are the release's rendered manifest; Namespace and Release
	// name it.
	Objects            []render.Object
	Namespace, Release string
	// Fleet runs the release's replicas (a PodFleet); Attach and Close
	// never stop it.
	Fleet Fleet
	// ProbeInterval is how often the API client calls each live replica;
	// default 150ms.
	ProbeInterval time.Duration
	// Progress prints a line per step; nil discards.
	Progress *progress.Printer
}

// Attach starts a Session on an installed release: it reads the lease
// timings from the manifest, creates the API client's ServiceAccount and
// its access to Projects, and waits for the fleet to have one leader.
// Session.Round then measures as for Start; Close removes the rounds'
// Projects and the client, and leaves the release, its replicas and the
// cluster running.
func Attach(ctx context.Context, opts AttachOptions) (_ *Session, err error) {
	if opts.Cluster == nil || opts.Fleet == nil {
		return nil, errors.New("failover: AttachOptions.Cluster and Fleet are required")
	}
	if opts.ProbeInterval <= 0 {
		opts.ProbeInterval = 150 * time.Millisecond
	}
	prog := opts.Progress
	if prog == nil {
		prog = progress.New(nil)
	}
	r := &runner{
		opts: Options{Render: render.Options{Chart: opts.Chart, Namespace: opts.Namespace, ReleaseName: opts.Release}, ProbeInterval: opts.ProbeInterval},
		prog: prog, cluster: opts.Cluster, fleet: opts.Fleet, runID: rand.String(5),
		killed: map[*replica.Replica]time.Time{}, frozen: map[*replica.Replica][]Interval{},
	}
	if r.timings, err = TimingsOf(opts.Objects, opts.Chart); err != nil {
		return nil, err
	}
	if r.inst, err = replica.Attach(opts.Cluster.RESTConfig(), opts.Objects, opts.Namespace, opts.Release); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, r.close(context.WithoutCancel(ctx), false))
		}
	}()
	if r.token, err = r.inst.Token(ctx, clientAccount, tokenTTL); err != nil {
		return nil, err
	}
	if err := r.inst.GrantProjects(ctx, clientAccount); err != nil {
		return nil, err
	}
	leader, err := replica.WaitSingleLeaderOf(ctx, r.fleet.Live(), r.token, r.inst.Lease(), r.settleTimeout())
	if err != nil {
		return nil, fmt.Errorf("failover: %w", err)
	}
	if leader.API == "" {
		return nil, fmt.Errorf("failover: %w", errAPIOff)
	}
	r.prog.Step("failover rounds on %d replicas, %s leads (lease %s, renew deadline %s, retry period %s)", r.fleet.Size(), leader.Name,
		r.timings.LeaseDuration, r.timings.RenewDeadline, r.timings.RetryPeriod)
	return &Session{r: r, settled: true}, nil
}
