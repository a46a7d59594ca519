package failover

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/primus-dev/primus/internal/hacheck/audit"
	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/hacheck/invariants"
	"github.com/primus-dev/primus/internal/hacheck/progress"
	"github.com/primus-dev/primus/internal/hacheck/render"
	"github.com/primus-dev/primus/internal/hacheck/replica"
	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// clientAccount is the ServiceAccount the API client authenticates as.
const clientAccount = "primus-failover-client"

// tokenTTL is how long the replicas' and the client's tokens last.
const tokenTTL = 12 * time.Hour

// runner is the state of one Session.
type runner struct {
	opts    Options
	prog    *progress.Printer
	cluster *cluster.Cluster
	owned   bool // the cluster was started by Start
	inst    *replica.Installation
	// fleet is the replicas the rounds take down.
	fleet Fleet
	// set is the replica.Set Start runs (nil after Attach, whose fleet
	// belongs to the caller); Close stops it.
	set     *replica.Set
	token   string
	timings Timings
	workDir string
	tempDir bool
	runID   string

	projects []*projectRecord
	// clientErrs are the failed API calls of the round's own client
	// (creating and updating its Project).
	clientErrs []replica.ProbeFailure
	killed     map[*replica.Replica]time.Time
	frozen     map[*replica.Replica][]Interval
}

// Session is a measurement under way: a cluster, the chart's objects and
// replicas with one leader (three of Start's own, or an installed
// release's after Attach), ready for rounds. Close stops and removes
// everything it started or created.
type Session struct {
	r       *runner
	rounds  []Round
	settled bool
	// failed is set when a report did not pass.
	failed bool
}

// ErrUnsettled is returned by Session.Round when the replicas did not get
// back to one leader after a round: no further round can be measured.
var ErrUnsettled = errors.New("the replicas did not get back to one leader")

// Start renders the chart (a render.InputError is bad input, returned
// before any cluster starts), starts or opens the cluster, installs the
// chart's ServiceAccount, RBAC, Lease and CRD, builds cmd/primus unless
// opts.Binary is set, and starts three replica. The caller must Close
// the Session.
func Start(ctx context.Context, opts Options) (_ *Session, err error) {
	if opts, err = opts.withDefaults(); err != nil {
		return nil, err
	}
	r := &runner{opts: opts, prog: progress.New(opts.Progress), runID: rand.String(5),
		killed: map[*replica.Replica]time.Time{}, frozen: map[*replica.Replica][]Interval{}}
	if r.timings, err = renderTimings(opts.Render); err != nil {
		return nil, err
	}
	if err := r.setUp(ctx); err != nil {
		return nil, errors.Join(err, r.close(context.WithoutCancel(ctx), true))
	}
	return &Session{r: r, settled: true}, nil
}

// Timings returns the lease timings the replicas run with.
func (s *Session) Timings() Timings { return s.r.timings }

// Round takes the leader down by mode, measures the handover, starts a
// replacement replica so three run again, and returns the judged round
// (a failed round is not an error). It returns ErrUnsettled, with the
// round, when the replicas did not get back to one leader; any other error
// means the measurement itself failed.
func (s *Session) Round(ctx context.Context, mode Mode) (Round, error) {
	if !s.settled {
		return Round{}, ErrUnsettled
	}
	n := len(s.rounds) + 1
	round, settled, err := s.r.round(ctx, n, mode)
	if err != nil {
		return round, fmt.Errorf("round %d (%s): %w", n, mode, err)
	}
	s.rounds = append(s.rounds, round)
	s.settled = settled
	if !settled {
		return round, ErrUnsettled
	}
	return round, nil
}

// Report audits every Project the rounds created and returns the report
// of the rounds so far, summarised for modes (every mode that ran when
// nil).
func (s *Session) Report(ctx context.Context, modes []Mode) *Report {
	r := s.r
	if modes == nil {
		for _, round := range s.rounds {
			if !slices.Contains(modes, round.Mode) {
				modes = append(modes, round.Mode)
			}
		}
	}
	rep := &Report{
		Chart: r.opts.Render.Chart, Release: r.inst.Release, Namespace: r.inst.Namespace,
		Cluster: r.describeCluster(), Lease: r.inst.LeaderElection.LeaseNamespace + "/" + r.inst.LeaderElection.LeaseName,
		Timings: r.timings, Replicas: r.fleet.Size(), Rounds: slices.Clone(s.rounds),
	}
	rep.Projects = r.audit(ctx)
	rep.Summary = summarize(rep.Rounds, modes, r.timings)
	rep.Passed = passed(rep.Rounds, rep.Projects)
	if !rep.Passed {
		s.failed = true
		if r.tempDir {
			rep.LogDir = r.logDir()
		}
	}
	return rep
}

// Close stops the replicas, removes the Projects and the chart's objects,
// and stops a cluster Start started. A temporary work directory is
// removed unless a round or a report failed: then the replicas' logs stay
// there (Report.LogDir).
func (s *Session) Close(ctx context.Context) error {
	keep := !s.settled || s.failed
	for _, round := range s.rounds {
		keep = keep || len(round.Violations) > 0
	}
	return s.r.close(ctx, keep)
}

// Run measures failover as opts says: Start, opts.Rounds rounds of each
// mode of opts.Modes, interleaved, the report, Close. A render.InputError
// is bad input; any other error means the measurement could not run (a
// failed round is not an error: see Report.Passed).
func Run(ctx context.Context, opts Options) (rep *Report, err error) {
	s, err := Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		if closeErr := s.Close(context.WithoutCancel(ctx)); closeErr != nil {
			err = errors.Join(err, closeErr)
		}
	}()
	opts = s.r.opts
rounds:
	for range opts.Rounds {
		for _, mode := range opts.Modes {
			_, err := s.Round(ctx, mode)
			if errors.Is(err, ErrUnsettled) {
				s.r.prog.Step("the replicas never settled on one leader; no more rounds")
				break rounds
			}
			if err != nil {
				return nil, err
			}
		}
	}
	return s.Report(ctx, opts.Modes), nil
}

// renderTimings renders the chart (bad input shows here, before any
// cluster starts) and reads the lease timings from its Deployment's args.
func renderTimings(opts render.Options) (Timings, error) {
	res, err := render.Render(opts)
	if err != nil {
		return Timings{}, err
	}
	return TimingsOf(res.Objects, opts.Chart)
}

// TimingsOf reads the lease timings from the args of the leader-elected
// Deployment among objs, the rendered manifest of chart; a flag the chart
// does not render has the binary's default. A manifest without a
// leader-elected Deployment is bad input (render.InputError).
func TimingsOf(objs []render.Object, chart string) (Timings, error) {
	m, err := invariants.NewManifest(objs)
	if err != nil {
		return Timings{}, err
	}
	d := m.LeaderElected()
	if d == nil {
		return Timings{}, &render.InputError{Err: fmt.Errorf("chart %s renders no Deployment", chart)}
	}
	le := invariants.LeaderElectionOf(d)
	if !le.Enabled {
		return Timings{}, &render.InputError{Err: fmt.Errorf("the Deployment %s does not run with --leader-elect=true: there is no leader to fail over", d.Name)}
	}
	t := Timings{LeaseDuration: Seconds(15 * time.Second), RenewDeadline: Seconds(10 * time.Second), RetryPeriod: Seconds(2 * time.Second)}
	if le.LeaseDuration > 0 {
		t.LeaseDuration = Seconds(le.LeaseDuration)
	}
	if le.RenewDeadline > 0 {
		t.RenewDeadline = Seconds(le.RenewDeadline)
	}
	if le.RetryPeriod > 0 {
		t.RetryPeriod = Seconds(le.RetryPeriod)
	}
	args, _, err := replica.FromDeployment(d, le.Container)
	if err != nil {
		return Timings{}, err
	}
	if v, ok := replica.ArgValue(args, "--shutdown-delay"); ok {
		delay, err := time.ParseDuration(v)
		if err != nil {
			return Timings{}, &render.InputError{Err: fmt.Errorf("the Deployment %s: --shutdown-delay %q: %w", d.Name, v, err)}
		}
		t.ShutdownDelay = Seconds(delay)
	}
	return t, nil
}

// setUp starts or opens the cluster, installs the chart's objects, builds
// the binary and starts three replicas with one leader.
func (r *runner) setUp(ctx context.Context) error {
	if err := r.makeWorkDir(); err != nil {
		return err
	}
	bin := r.opts.Binary
	if bin == "" {
		r.prog.Step("building cmd/primus")
		var err error
		if bin, err = replica.Build(ctx, filepath.Join(r.workDir, "bin"), r.opts.Progress); err != nil {
			return err
		}
	}
	r.cluster = r.opts.Cluster
	if r.cluster == nil {
		copts := r.opts.ClusterOptions
		if copts.Name == "" {
			copts.Name = "failover"
		}
		if copts.AuditPolicy == nil {
			// The split-brain oracle reads the API server's audit log.
			copts.AuditPolicy = []byte(audit.Policy)
		}
		r.prog.Step("starting or opening the cluster")
		c, err := cluster.StartOrConnect(ctx, r.opts.Kubeconfig, copts)
		if err != nil {
			return err
		}
		r.cluster, r.owned = c, true
	}
	r.prog.Step("installing the chart's ServiceAccount, RBAC, Lease and CRD in namespace %s", r.opts.Render.Namespace)
	inst, err := replica.Install(ctx, r.cluster.RESTConfig(), replica.InstallOptions{Render: r.opts.Render})
	if err != nil {
		return err
	}
	r.inst = inst
	kubeconfig, err := inst.WriteKubeconfig(ctx, r.workDir, tokenTTL)
	if err != nil {
		return err
	}
	if r.token, err = inst.Token(ctx, clientAccount, tokenTTL); err != nil {
		return err
	}
	if err := inst.GrantProjects(ctx, clientAccount); err != nil {
		return err
	}
	if err := os.MkdirAll(r.logDir(), 0o755); err != nil {
		return fmt.Errorf("log dir: %w", err)
	}
	cfg, err := inst.ReplicaConfig(bin, kubeconfig, r.logDir())
	if err != nil {
		return err
	}
	r.set = replica.NewSet(cfg, inst.Release)
	r.fleet = &setFleet{set: r.set, size: Replicas}
	r.prog.Step("starting %d replicas (lease %s, renew deadline %s, retry period %s, shutdown delay %s)", Replicas,
		r.timings.LeaseDuration, r.timings.RenewDeadline, r.timings.RetryPeriod, r.timings.ShutdownDelay)
	if _, err := r.set.Grow(ctx, Replicas, 2*time.Minute); err != nil {
		return err
	}
	leader, err := replica.WaitSingleLeaderOf(ctx, r.fleet.Live(), r.token, r.inst.Lease(), r.settleTimeout())
	if err != nil {
		return err
	}
	if leader.API == "" {
		return errAPIOff
	}
	r.prog.Step("%s leads", leader.Name)
	return nil
}

// errAPIOff refuses rounds on replicas that serve no API.
var errAPIOff = errors.New("failover writes each round's Project through the replicas' API, which this release turns off (--api-bind-address=0; chart: api.enabled=false)")

// settleTimeout bounds the wait for a single leader.
func (r *runner) settleTimeout() time.Duration {
	return r.timings.LeaseDuration.D() + r.timings.RenewDeadline.D() + 30*time.Second
}

func (r *runner) makeWorkDir() error {
	if r.opts.WorkDir != "" {
		r.workDir = r.opts.WorkDir
		return os.MkdirAll(r.workDir, 0o755)
	}
	dir, err := os.MkdirTemp("", "primus-failover-")
	if err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	r.workDir, r.tempDir = dir, true
	return nil
}

func (r *runner) logDir() string { return filepath.Join(r.workDir, "logs") }

// describeCluster names the cluster for the report.
func (r *runner) describeCluster() string {
	if r.cluster.StopCommand() == "" {
		return r.cluster.Name()
	}
	nodes := r.cluster.NodeNames()
	zones := map[string]bool{}
	for _, n := range nodes {
		node, err := r.inst.Kube().CoreV1().Nodes().Get(context.Background(), n, metav1.GetOptions{})
		if err == nil {
			zones[node.Labels["topology.kubernetes.io/zone"]] = true
		}
	}
	return fmt.Sprintf("embedded (%d nodes, %d zones)", len(nodes), len(zones))
}

// close stops the replicas, removes the Projects and the chart's objects,
// stops a cluster Run started and removes a temporary work dir unless
// keep.
func (r *runner) close(ctx context.Context, keep bool) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var errs []error
	if r.set != nil {
		errs = append(errs, r.set.Close(ctx))
	}
	if r.inst != nil {
		var names []string
		for _, p := range r.projects {
			names = append(names, p.name)
		}
		errs = append(errs, r.inst.DeleteProjects(ctx, names), r.inst.Close(ctx))
	}
	if r.owned {
		errs = append(errs, r.cluster.Stop(ctx))
	}
	if r.tempDir && !keep {
		errs = append(errs, os.RemoveAll(r.workDir))
	}
	return errors.Join(errs...)
}

// newProject returns the Project round n creates: two members and a quota.
func (r *runner) newProject(n int, mode Mode) *primusv1.Project {
	p := &primusv1.Project{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("failover-%s-%d-%s", r.runID, n, mode)}}
	p.Spec = primusv1.ProjectSpec{
		DisplayName: fmt.Sprintf("failover round %d (%s)", n, mode),
		Members: []primusv1.Member{
			{Kind: primusv1.MemberUser, Name: "dev@example.com", Role: primusv1.RoleEdit},
			{Kind: primusv1.MemberServiceAccount, Name: clientAccount, Namespace: r.inst.Namespace, Role: primusv1.RoleAdmin},
		},
		Quota: map[string]intstr.IntOrString{"pods": intstr.FromInt32(10)},
	}
	return p
}
