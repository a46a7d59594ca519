package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gofrs/flock"
)

// lockFile takes an exclusive flock(2) on path (github.com/gofrs/flock),
// waiting while another process (say, a second test package building the
// same binaries) holds it. The kernel drops the lock if the holder dies, so
// a crashed build never wedges the cache. The returned function releases it.
func lockFile(ctx context.Context, path string, log *slog.Logger) (unlock func(), err error) {
	fl := flock.New(path)
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		start := time.Now()
		log.Info("waiting for another process building the same binaries", "lock", path)
		if ok, err = fl.TryLockContext(ctx, 500*time.Millisecond); !ok {
			if err == nil {
				err = ctx.Err()
			}
			return nil, fmt.Errorf("wait for lock %s: %w", path, err)
		}
		log.Info("took the lock", "lock", path, "waited", since(start))
	}
	return func() { _ = fl.Unlock() }, nil
}
