package clustertest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/internal/hacheck/replica"
)

// EventsOf returns r's leadership events of one kind, failing t when its
// log cannot be read.
func EventsOf(t testing.TB, r *replica.Replica, kind replica.EventKind) []replica.Event {
	t.Helper()
	events, err := r.Events()
	require.NoError(t, err)
	return slices.DeleteFunc(events, func(e replica.Event) bool { return e.Kind != kind })
}

// CloseWithin runs close, a cleanup on the cluster, with a minute to
// spare, and logs its error: a cleanup that fails does not hide the
// test's own verdict.
func CloseWithin(t testing.TB, what string, close func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := close(ctx); err != nil {
		t.Logf("%s: %v", what, err)
	}
}
