package bench

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	primusv1 "primus.dev/primus/internal/apis/primus/v1alpha1"
	"primus.dev/primus/internal/cluster"
	"primus.dev/primus/internal/render"
	"primus.dev/primus/internal/replicas"
)

// Load of BenchmarkPlatform: Project creations per second through the API,
// spread round robin over the replicas, for loadFor; at most maxInFlight
// calls at once (a creation that finds no free slot is dropped and counted).
const (
	loadRate    = 100
	loadFor     = 10 * time.Second
	idleFor     = 10 * time.Second
	maxInFlight = 64
)

// BenchmarkPlatform measures what a replica costs: resident memory
// (VmRSS) and CPU time (utime + stime, as a percentage of one core) of the
// leader and of the non-leaders (their mean), first idle for 10 s, then
// while a client creates 100 Projects per second through the API of the
// three replicas for 10 s. It also reports the creation rate achieved, the
// API errors and how long the leader took to reconcile the backlog.
func BenchmarkPlatform(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	env := startPlatform(ctx, b)
	defer env.close(b)

	var idle, load []phaseUsage
	var creates, dropped, failed, backlog []float64
	for b.Loop() {
		u, err := env.measure(func() error { time.Sleep(idleFor); return nil })
		if err != nil {
			b.Fatal(err)
		}
		idle = append(idle, u)
		var res loadResult
		u, err = env.measure(func() error {
			res = createLoad(ctx, env.set.Live(), env.token, fmt.Sprintf("bench-%d", len(load)))
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		load = append(load, u)
		creates = append(creates, float64(res.ok)/loadFor.Seconds())
		dropped = append(dropped, float64(res.dropped))
		failed = append(failed, float64(res.failed))
		start := time.Now()
		if err := env.waitAllReady(ctx, 5*time.Minute); err != nil {
			b.Log(err)
		}
		backlog = append(backlog, time.Since(start).Seconds())
	}
	reportPhase(b, "idle", idle)
	reportPhase(b, "load", load)
	b.ReportMetric(mean(creates), "creates/s")
	b.ReportMetric(mean(dropped), "creates-dropped")
	b.ReportMetric(mean(failed), "api-errors")
	b.ReportMetric(mean(backlog), "s/backlog-reconciled")
}

// platformEnv is a cluster with the chart's objects and three replicas.
type platformEnv struct {
	cluster *cluster.Cluster
	inst    *replicas.Installation
	set     *replicas.Set
	token   string
	leader  *replicas.Replica
}

// startPlatform starts the cluster, installs the chart's objects with
// default values and three replicas, and waits for a leader.
func startPlatform(ctx context.Context, b *testing.B) *platformEnv {
	bin, err := replicas.Build(ctx, b.TempDir(), os.Stderr)
	if err != nil {
		b.Fatal(err)
	}
	bins, err := cluster.EnsureBinaries(ctx, cluster.BinaryOptions{Log: os.Stderr})
	if err != nil {
		b.Fatal(err)
	}
	env := &platformEnv{}
	if env.cluster, err = cluster.Start(ctx, cluster.Options{Name: "bench-platform", Binaries: &bins}); err != nil {
		b.Fatal(err)
	}
	fail := func(err error) {
		env.close(b)
		b.Fatal(err)
	}
	env.inst, err = replicas.Install(ctx, env.cluster.RESTConfig(), replicas.InstallOptions{
		Render: render.Options{Chart: chartPath(), ReleaseName: "primus", Namespace: "bench-platform", Set: []string{"replicaCount=3"}},
	})
	if err != nil {
		fail(err)
	}
	dir := b.TempDir()
	kubeconfig, err := env.inst.WriteKubeconfig(ctx, dir, 2*time.Hour)
	if err != nil {
		fail(err)
	}
	if env.token, err = env.inst.Token(ctx, "bench-client", 2*time.Hour); err != nil {
		fail(err)
	}
	if err := env.inst.GrantProjects(ctx, "bench-client"); err != nil {
		fail(err)
	}
	cfg, err := env.inst.ReplicaConfig(bin, kubeconfig, dir)
	if err != nil {
		fail(err)
	}
	env.set = replicas.NewSet(cfg, "primus")
	if _, err := env.set.Grow(ctx, 3, 2*time.Minute); err != nil {
		fail(err)
	}
	if env.leader, err = replicas.WaitSingleLeader(ctx, env.set.Live(), env.token, time.Minute); err != nil {
		fail(err)
	}
	return env
}

// close stops the replicas and the cluster (which takes every object
// along).
func (e *platformEnv) close(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if e.set != nil {
		if err := e.set.Close(ctx); err != nil {
			b.Error(err)
		}
	}
	if e.cluster != nil {
		if err := e.cluster.Stop(ctx); err != nil {
			b.Error(err)
		}
	}
}

// phaseUsage is the resource use of one phase: the leader's, and the mean
// of the non-leaders'.
type phaseUsage struct {
	leaderRSS, followerRSS float64 // MiB at the end of the phase
	leaderCPU, followerCPU float64 // percent of one core over the phase
}

// measure runs phase and returns what the replicas used meanwhile.
func (e *platformEnv) measure(phase func() error) (phaseUsage, error) {
	rs := e.set.Live()
	before := map[string]replicas.Usage{}
	for _, r := range rs {
		u, err := r.Usage()
		if err != nil {
			return phaseUsage{}, err
		}
		before[r.Name] = u
	}
	start := time.Now()
	if err := phase(); err != nil {
		return phaseUsage{}, err
	}
	wall := time.Since(start)
	var out phaseUsage
	followers := 0
	for _, r := range rs {
		u, err := r.Usage()
		if err != nil {
			return phaseUsage{}, err
		}
		rss := float64(u.RSS) / (1 << 20)
		cpu := 100 * (u.CPU - before[r.Name].CPU).Seconds() / wall.Seconds()
		if r == e.leader {
			out.leaderRSS, out.leaderCPU = rss, cpu
			continue
		}
		followers++
		out.followerRSS += rss
		out.followerCPU += cpu
	}
	if followers > 0 {
		out.followerRSS /= float64(followers)
		out.followerCPU /= float64(followers)
	}
	return out, nil
}

// reportPhase reports the mean usage of a phase over the iterations.
func reportPhase(b *testing.B, phase string, us []phaseUsage) {
	pick := func(f func(phaseUsage) float64) float64 {
		var vs []float64
		for _, u := range us {
			vs = append(vs, f(u))
		}
		return mean(vs)
	}
	b.ReportMetric(pick(func(u phaseUsage) float64 { return u.leaderRSS }), "MiB-rss/leader-"+phase)
	b.ReportMetric(pick(func(u phaseUsage) float64 { return u.followerRSS }), "MiB-rss/nonleader-"+phase)
	b.ReportMetric(pick(func(u phaseUsage) float64 { return u.leaderCPU }), "cpu-%/leader-"+phase)
	b.ReportMetric(pick(func(u phaseUsage) float64 { return u.followerCPU }), "cpu-%/nonleader-"+phase)
}

// loadResult counts the creations of one load phase.
type loadResult struct {
	ok, failed, dropped int64
}

// createLoad creates loadRate Projects per second for loadFor through the
// replicas' API, round robin.
func createLoad(ctx context.Context, rs []*replicas.Replica, token, prefix string) loadResult {
	var res loadResult
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	slots := make(chan struct{}, maxInFlight)
	tick := time.NewTicker(time.Second / loadRate)
	defer tick.Stop()
	end := time.Now().Add(loadFor)
	for i := 0; time.Now().Before(end); i++ {
		<-tick.C
		select {
		case slots <- struct{}{}:
		default:
			res.dropped++
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			p := &primusv1.Project{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", prefix, i)}, Spec: primusv1.ProjectSpec{
				Members: []primusv1.Member{{Kind: primusv1.MemberUser, Name: "dev@example.com", Role: primusv1.RoleEdit}},
				Quota:   map[string]intstr.IntOrString{"pods": intstr.FromInt32(10)},
			}}
			callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := rs[i%len(rs)].CreateProject(callCtx, token, p); err != nil {
				failed.Add(1)
				return
			}
			ok.Add(1)
		}()
	}
	wg.Wait()
	res.ok, res.failed = ok.Load(), failed.Load()
	return res
}

// waitAllReady waits until every Project is Ready for its generation.
func (e *platformEnv) waitAllReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		list, err := e.inst.Projects(ctx)
		if err == nil && !slices.ContainsFunc(list, func(p primusv1.Project) bool { return !replicas.ProjectReady(&p) }) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("projects not all Ready after %s", timeout)
		}
		time.Sleep(time.Second)
	}
}

func mean(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	var sum float64
	for _, v := range vs {
		sum += v
	}
	return sum / float64(len(vs))
}
