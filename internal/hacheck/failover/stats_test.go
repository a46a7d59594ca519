package failover

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func secs(ss ...float64) []time.Duration {
	var out []time.Duration
	for _, s := range ss {
		out = append(out, time.Duration(s*float64(time.Second)))
	}
	return out
}

func TestSummarize(t *testing.T) {
	s := func(f float64) Seconds { return Seconds(time.Duration(f * float64(time.Second))) }
	twenty := make([]float64, 20)
	for i := range twenty {
		twenty[i] = float64(20 - i) // 20, 19, ..., 1: unsorted input
	}
	tests := []struct {
		name string
		in   []time.Duration
		want Stats
	}{
		{name: "no rounds", in: nil, want: Stats{}},
		{name: "one round", in: secs(4.2), want: Stats{N: 1, Min: s(4.2), Median: s(4.2), P95: s(4.2), Max: s(4.2)}},
		{name: "odd count", in: secs(5, 1, 3), want: Stats{N: 3, Min: s(1), Median: s(3), P95: s(5), Max: s(5)}},
		{name: "even count: mean of the middle two", in: secs(4, 1, 3, 2), want: Stats{N: 4, Min: s(1), Median: s(2.5), P95: s(4), Max: s(4)}},
		{name: "twenty rounds: p95 is the 19th", in: secs(twenty...), want: Stats{N: 20, Min: s(1), Median: s(10.5), P95: s(19), Max: s(20)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Summarize(tc.in))
		})
	}
}
