package failover

import (
	"slices"
	"time"
)

// Stats summarises durations: the minimum, the median, the 95th
// percentile (nearest rank: the smallest value at least 95% of the values
// are not above) and the maximum.
type Stats struct {
	N      int     `json:"n"`
	Min    Seconds `json:"minSeconds"`
	Median Seconds `json:"medianSeconds"`
	P95    Seconds `json:"p95Seconds"`
	Max    Seconds `json:"maxSeconds"`
}

// Summarize computes the Stats of ds; the zero Stats when ds is empty. An
// even count has the mean of the two middle values as its median.
func Summarize(ds []time.Duration) Stats {
	if len(ds) == 0 {
		return Stats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	median := s[n/2]
	if n%2 == 0 {
		median = (s[n/2-1] + s[n/2]) / 2
	}
	// Nearest rank: ceil(0.95 n), 1-based.
	rank := (95*n + 99) / 100
	return Stats{N: n, Min: Seconds(s[0]), Median: Seconds(median), P95: Seconds(s[rank-1]), Max: Seconds(s[n-1])}
}
