package bench

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/hacheck/render"
	"github.com/primus-dev/primus/internal/hacheck/replica"
	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// Load of BenchmarkPlatform: loadProjects Project creations through the
// API, paced at loadRate a second, spread round robin over the replicas;
// at most maxInFlight calls at once. A creation that finds no free slot
// waits for one (an earlier version dropped it, so a slow API server
// shrank the backlog it was meant to measure): the phase then takes
// longer than loadProjects/loadRate, which the creation rate shows.
const (
	loadRate     = 100
	loadProjects = 1000
	idleFor      = 10 * time.Second
	maxInFlight  = 64
)

// platformWorkers are the controller.workers BenchmarkPlatform measures.
var platformWorkers = []int{1, 4, 16}

// BenchmarkPlatform measures what a replica costs: resident memory
// (VmRSS) and CPU time (utime + stime, as a percentage of one core) of the
// leader and of the non-leaders (their mean), first idle for 10 s, then
// while a client creates 1,000 Projects through the API of the three
// replicas at up to 100 a second. It also reports the creation rate
// achieved, the API errors, how long the leader took to reconcile the
// backlog (from the last creation's answer until every Project is Ready,
// seen through a watch), and the CPU seconds kube-apiserver, etcd,
// kube-controller-manager and the replicas spent over load and backlog
// with the machine's busy share meanwhile (the cores are shared: these
// say whether the platform got them), once per Project controller worker
// count. With PRIMUS_BENCH_METRICS_DIR set it also saves the API server's
// and the leader's /metrics after each backlog.
func BenchmarkPlatform(b *testing.B) {
	for _, workers := range platformWorkers {
		b.Run(fmt.Sprintf("workers-%d", workers), func(b *testing.B) { benchmarkPlatform(b, workers) })
	}
}

func benchmarkPlatform(b *testing.B, workers int) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	env := startPlatform(ctx, b, workers)
	defer env.close(b)

	var idle, load []phaseUsage
	var creates, failed, loadSecs, backlog []float64
	var cost []controlPlaneCost
	for b.Loop() {
		u, err := env.measure(func() error { time.Sleep(idleFor); return nil })
		if err != nil {
			b.Fatal(err)
		}
		idle = append(idle, u)
		prefix := fmt.Sprintf("bench-%d-", len(load))
		ready, err := trackReady(ctx, env.cluster.RESTConfig(), prefix)
		if err != nil {
			b.Fatal(err)
		}
		before, err := env.snapshotCost()
		if err != nil {
			b.Fatal(err)
		}
		var res loadResult
		u, err = env.measure(func() error {
			res = createLoad(ctx, env.set.Live(), env.token, prefix)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		load = append(load, u)
		for _, e := range u.exited {
			b.Logf("replica exited during the load: %s", e)
		}
		creates = append(creates, float64(res.ok)/res.elapsed.Seconds())
		failed = append(failed, float64(res.failed))
		loadSecs = append(loadSecs, res.elapsed.Seconds())
		loadEnd := time.Now()
		at, err := ready.wait(ctx, int(res.ok), 5*time.Minute)
		if err != nil {
			b.Log(err)
			at = time.Now()
		}
		backlog = append(backlog, max(at.Sub(loadEnd), 0).Seconds())
		after, err := env.snapshotCost()
		if err != nil {
			b.Fatal(err)
		}
		cost = append(cost, after.since(before))
		if err := env.dumpMetrics(ctx, workers); err != nil {
			b.Log(err)
		}
	}
	reportPhase(b, "idle", idle)
	reportPhase(b, "load", load)
	b.ReportMetric(mean(creates), "creates/s")
	b.ReportMetric(mean(loadSecs), "s/load")
	b.ReportMetric(mean(failed), "api-errors")
	b.ReportMetric(mean(backlog), "s/backlog-reconciled")
	reportCost(b, cost)
}

// platformEnv is a cluster with the chart's objects and three replica.
type platformEnv struct {
	cluster *cluster.Cluster
	inst    *replica.Installation
	set     *replica.Set
	token   string
	leader  *replica.Replica
}

// startPlatform starts the cluster, installs the chart's objects with
// default values but the controller's workers, and three replicas, and
// waits for a leader.
func startPlatform(ctx context.Context, b *testing.B, workers int) *platformEnv {
	bin, err := replica.Build(ctx, b.TempDir(), os.Stderr)
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
	env.inst, err = replica.Install(ctx, env.cluster.RESTConfig(), replica.InstallOptions{
		Render: render.Options{Chart: chartPath(), ReleaseName: "primus", Namespace: "bench-platform", Set: []string{"replicaCount=3", fmt.Sprintf("controller.workers=%d", workers)}},
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
	env.set = replica.NewSet(cfg, "primus")
	if _, err := env.set.Grow(ctx, 3, 2*time.Minute); err != nil {
		fail(err)
	}
	if env.leader, err = replica.WaitSingleLeader(ctx, env.set.Live(), env.token, time.Minute); err != nil {
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
	exited                 []string
}

// measure runs phase and returns what the replicas used meanwhile.
func (e *platformEnv) measure(phase func() error) (phaseUsage, error) {
	rs := e.set.Live()
	before := map[string]replica.Usage{}
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
		if err != nil && r.Exited() {
			// A replica that exits during a phase (a leader that could not
			// renew its lease in time stops, by design) is reported, not
			// measured.
			out.exited = append(out.exited, fmt.Sprintf("%s (%s)", r.Name, r.Tail(3)))
			continue
		}
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
	ok, failed int64
	elapsed    time.Duration // from the first creation to the last answer
}

// createLoad creates loadProjects Projects through the replicas' API,
// round robin, paced at loadRate a second and at most maxInFlight at once.
func createLoad(ctx context.Context, rs []*replica.Replica, token, prefix string) loadResult {
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	slots := make(chan struct{}, maxInFlight)
	tick := time.NewTicker(time.Second / loadRate)
	defer tick.Stop()
	start := time.Now()
	for i := range loadProjects {
		<-tick.C
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			failed.Add(int64(loadProjects - i))
			wg.Wait()
			return loadResult{ok: ok.Load(), failed: failed.Load(), elapsed: time.Since(start)}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			p := &primusv1.Project{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s%d", prefix, i)}, Spec: primusv1.ProjectSpec{
				Members: []primusv1.Member{{Kind: primusv1.MemberUser, Name: "dev@example.com", Role: primusv1.RoleEdit}},
				Quota:   map[string]intstr.IntOrString{"pods": intstr.FromInt32(10)},
			}}
			callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := rs[i%len(rs)].CreateProject(callCtx, token, p); err != nil {
				failed.Add(1)
				return
			}
			ok.Add(1)
		}()
	}
	wg.Wait()
	return loadResult{ok: ok.Load(), failed: failed.Load(), elapsed: time.Since(start)}
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
