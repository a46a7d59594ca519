package bench

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/hacheck/install"
	"github.com/primus-dev/primus/internal/hacheck/render"
)

// BenchmarkCluster measures, with warm binaries, the time from start to a
// ready embedded cluster with 3 nodes, and from helm install (SDK) with
// replicaCount=3 to 3 Ready replicas.
func BenchmarkCluster(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	bins, err := cluster.EnsureBinaries(ctx, cluster.BinaryOptions{Log: os.Stderr})
	if err != nil {
		b.Fatal(err)
	}
	var startSecs, installSecs float64
	n := 0
	for b.Loop() {
		t0 := time.Now()
		c, err := cluster.Start(ctx, cluster.Options{Name: "bench", Binaries: &bins})
		if err != nil {
			b.Fatal(err)
		}
		startSecs += time.Since(t0).Seconds()

		t1 := time.Now()
		ns := fmt.Sprintf("bench-%d", n)
		_, err = install.Apply(ctx, install.Options{Kubeconfig: c.Kubeconfig(), Render: render.Options{
			Chart: chartPath(), ReleaseName: "primus", Namespace: ns, Set: []string{"replicaCount=3"},
		}})
		if err == nil {
			err = waitReady(ctx, c, ns, 3)
		}
		installSecs += time.Since(t1).Seconds()
		if stopErr := c.Stop(context.Background()); stopErr != nil {
			b.Fatal(stopErr)
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(startSecs/float64(n), "s/cluster-ready")
	b.ReportMetric(installSecs/float64(n), "s/install-to-3-ready")
}

func waitReady(ctx context.Context, c *cluster.Cluster, ns string, want int32) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		d, err := c.Clientset().AppsV1().Deployments(ns).Get(ctx, "primus", metav1.GetOptions{})
		if err == nil && d.Status.ReadyReplicas == want {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("deployment %s/primus: not %d Ready replicas after 2m", ns, want)
}
