// Package progress prints timestamped progress lines for long work (a
// cluster start, an install, failover rounds), so a user watching a slow
// command sees it move. It is not a logger: lines go to a writer as is.
package progress

import (
	"fmt"
	"io"
	"time"
)

// Printer prints lines prefixed with the time since it was made.
type Printer struct {
	w     io.Writer
	start time.Time
}

// New returns a Printer writing to w; nil discards the lines.
func New(w io.Writer) *Printer {
	if w == nil {
		w = io.Discard
	}
	return &Printer{w: w, start: time.Now()}
}

// Step prints a step of the work.
func (p *Printer) Step(format string, args ...any) {
	fmt.Fprintf(p.w, "[%6.1fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

// Wait prints a line about something being waited for, indented under its step.
func (p *Printer) Wait(format string, args ...any) {
	fmt.Fprintf(p.w, "[%6.1fs]   … %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}
