package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/kubernetes"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/hacheck/render"
	"github.com/primus-dev/primus/internal/hacheck/replica"
	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// authRequests is the number of API requests of one BenchmarkAPIAuth round.
const authRequests = 100

// authProject is the Project BenchmarkAPIAuth reads.
const authProject = "bench-auth"

// BenchmarkAPIAuth measures what authenticating and authorizing a caller
// costs the API: one replica on the embedded cluster, and per round (one
// b.Loop iteration) authRequests sequential GETs of one Project (replica.ProjectsPath/{name})
// with the same ServiceAccount token. It reports the latency of a request
// seen by the client (p50, p95, over all rounds) and, per request, the
// TokenReviews and SubjectAccessReviews the kube-apiserver served (its
// apiserver_request_total) and every request the replica sent to the API
// server (its rest_client_requests_total; this includes the Lease
// renewals, about one per 2 s).
func BenchmarkAPIAuth(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	env := startAuthEnv(ctx, b)
	defer env.close(b)
	r := env.set.Live()[0]
	p := &primusv1.Project{Spec: primusv1.ProjectSpec{DisplayName: "bench"}}
	p.Name = authProject
	if err := r.CreateProject(ctx, env.token, p); err != nil {
		b.Fatal(err)
	}
	kube := env.cluster.Clientset()
	beforeServer, err := reviewCounts(ctx, kube)
	if err != nil {
		b.Fatal(err)
	}
	beforeClient, err := clientRequests(ctx, r)
	if err != nil {
		b.Fatal(err)
	}

	var latencies []time.Duration
	for b.Loop() {
		for range authRequests {
			start := time.Now()
			code, raw, err := r.Call(ctx, http.MethodGet, replica.ProjectsPath+"/"+authProject, env.token, nil)
			latencies = append(latencies, time.Since(start))
			if err != nil || code != http.StatusOK {
				b.Fatalf("GET project: %d %s %v", code, bytes.TrimSpace(raw), err)
			}
		}
	}

	afterServer, err := reviewCounts(ctx, kube)
	if err != nil {
		b.Fatal(err)
	}
	afterClient, err := clientRequests(ctx, r)
	if err != nil {
		b.Fatal(err)
	}
	n := float64(len(latencies))
	b.ReportMetric(percentile(latencies, 0.50).Seconds()*1000, "ms-p50")
	b.ReportMetric(percentile(latencies, 0.95).Seconds()*1000, "ms-p95")
	b.ReportMetric((afterServer["tokenreviews"]-beforeServer["tokenreviews"])/n, "tokenreviews/req")
	b.ReportMetric((afterServer["subjectaccessreviews"]-beforeServer["subjectaccessreviews"])/n, "subjectaccessreviews/req")
	b.ReportMetric((afterClient-beforeClient)/n, "apiserver-calls/req")
}

// authEnv is a cluster with the chart's objects and one replica.
type authEnv struct {
	cluster *cluster.Cluster
	set     *replica.Set
	token   string
}

// startAuthEnv starts the cluster (stopped when b ends), installs the
// chart's objects with one replica, a client ServiceAccount granted every
// verb on Projects, and the replica, and waits for it to lead.
func startAuthEnv(ctx context.Context, b *testing.B) *authEnv {
	c, bin := startReplicaCluster(ctx, b, "bench-apiauth")
	env := &authEnv{cluster: c}
	fail := func(err error) {
		env.close(b)
		b.Fatal(err)
	}
	inst, err := replica.Install(ctx, env.cluster.RESTConfig(), replica.InstallOptions{
		Render: render.Options{Chart: chartPath(), ReleaseName: "primus", Namespace: "bench-apiauth", Set: []string{"replicaCount=1"}},
	})
	if err != nil {
		fail(err)
	}
	dir := b.TempDir()
	kubeconfig, err := inst.WriteKubeconfig(ctx, dir, time.Hour)
	if err != nil {
		fail(err)
	}
	if env.token, err = inst.Token(ctx, "bench-client", time.Hour); err != nil {
		fail(err)
	}
	if err := inst.GrantProjects(ctx, "bench-client"); err != nil {
		fail(err)
	}
	cfg, err := inst.ReplicaConfig(bin, kubeconfig, dir)
	if err != nil {
		fail(err)
	}
	env.set = replica.NewSet(cfg, "primus")
	if _, err := env.set.Grow(ctx, 1, 2*time.Minute); err != nil {
		fail(err)
	}
	if _, err := replica.WaitSingleLeader(ctx, env.set.Live(), env.token, time.Minute); err != nil {
		fail(err)
	}
	return env
}

// close stops the replica; the cluster stops when b ends
// (startReplicaCluster), and takes every object along.
func (e *authEnv) close(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if e.set != nil {
		if err := e.set.Close(ctx); err != nil {
			b.Error(err)
		}
	}
}

// reviewCounts returns the kube-apiserver's apiserver_request_total summed
// by resource.
func reviewCounts(ctx context.Context, kube kubernetes.Interface) (map[string]float64, error) {
	raw, err := kube.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("scrape kube-apiserver: %w", err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("scrape kube-apiserver: %w", err)
	}
	out := map[string]float64{}
	for _, m := range families["apiserver_request_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "resource" {
				out[l.GetValue()] += m.GetCounter().GetValue()
			}
		}
	}
	return out, nil
}

// clientRequests returns the requests r has sent to the API server: its
// rest_client_requests_total, summed.
func clientRequests(ctx context.Context, r *replica.Replica) (float64, error) {
	resp, err := r.Get(ctx, r.Metrics+"/metrics")
	if err != nil {
		return 0, fmt.Errorf("%s: scrape: %w", r.Name, err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("%s: scrape: %w", r.Name, err)
	}
	var sum float64
	for _, m := range families["rest_client_requests_total"].GetMetric() {
		sum += m.GetCounter().GetValue()
	}
	return sum, nil
}

// percentile returns the q-quantile of ds (nearest rank).
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s)) + 0.5)
	return s[min(max(i-1, 0), len(s)-1)]
}
