package action

import (
	"fmt"
	"io"
	"time"
)

// progress prints timestamped progress lines for long work.
type progress struct {
	w     io.Writer
	start time.Time
}

func newProgress(w io.Writer) *progress {
	if w == nil {
		w = io.Discard
	}
	return &progress{w: w, start: time.Now()}
}

func (p *progress) step(format string, args ...any) {
	fmt.Fprintf(p.w, "[%6.1fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

func (p *progress) wait(format string, args ...any) {
	fmt.Fprintf(p.w, "[%6.1fs]   … %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}
