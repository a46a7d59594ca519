package bench

import (
	"context"
	"os"
	"testing"

	"github.com/primus-dev/primus/internal/hacheck/cluster"
	"github.com/primus-dev/primus/internal/hacheck/replica"
)

// startReplicaCluster builds cmd/primus, starts an embedded cluster named
// name with warm binaries, and stops the cluster when b ends. It returns
// the cluster and the path of the built binary: what every benchmark that
// runs replica processes needs first.
func startReplicaCluster(ctx context.Context, b *testing.B, name string) (*cluster.Cluster, string) {
	b.Helper()
	bin, err := replica.Build(ctx, b.TempDir(), os.Stderr)
	if err != nil {
		b.Fatal(err)
	}
	bins, err := cluster.EnsureBinaries(ctx, cluster.BinaryOptions{Log: os.Stderr})
	if err != nil {
		b.Fatal(err)
	}
	c, err := cluster.Start(ctx, cluster.Options{Name: name, Binaries: &bins})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			b.Error(err)
		}
	})
	return c, bin
}
