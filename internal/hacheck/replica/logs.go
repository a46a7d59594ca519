package replica

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// LogLine is one JSON line of a replica's log (log/slog's JSON handler).
type LogLine struct {
	// Time, Level and Msg are slog's time, level and msg.
	Time  time.Time
	Level string
	Msg   string
	// Fields are every field of the line, the three above included.
	Fields map[string]any
}

// String returns the field key as a string ("" when absent or not a
// string).
func (l LogLine) String(key string) string {
	s, _ := l.Fields[key].(string)
	return s
}

// ParseLog decodes the JSON lines of r; lines that are not JSON objects
// with a time (a panic trace, the Go runtime's output) are skipped.
func ParseLog(r io.Reader) ([]LogLine, error) {
	var out []LogLine
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		ts, _ := m["time"].(string)
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			continue
		}
		l := LogLine{Time: t, Fields: m}
		l.Level, l.Msg = l.String("level"), l.String("msg")
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read log: %w", err)
	}
	return out, nil
}

// ReadLog decodes the log file at path (see ParseLog).
func ReadLog(path string) ([]LogLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	lines, err := ParseLog(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return lines, nil
}

// Log decodes the replica's log so far.
func (r *Replica) Log() ([]LogLine, error) { return ReadLog(r.LogPath) }

// Tail returns the last n lines of the replica's log, raw, for a test's
// failure output.
func (r *Replica) Tail(n int) string {
	f, err := os.Open(r.LogPath)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// EventKind is a change of a replica's own leadership, as its log says.
type EventKind string

// The leadership events internal/leader logs.
const (
	// Acquired: "leadership acquired", the replica wrote itself into the
	// Lease and starts its controllers.
	Acquired EventKind = "acquired"
	// Released: "leadership released", a graceful stop gave the Lease up
	// after the controllers stopped.
	Released EventKind = "released"
	// Lost: "leadership lost", the replica could not renew before the
	// renew deadline and exits.
	Lost EventKind = "lost"
)

// leadershipMessages maps internal/leader's log messages to events.
var leadershipMessages = map[string]EventKind{
	"leadership acquired": Acquired,
	"leadership released": Released,
	"leadership lost":     Lost,
}

// Event is one leadership event of one replica.
type Event struct {
	Time     time.Time `json:"time"`
	Identity string    `json:"identity"`
	Kind     EventKind `json:"kind"`
	// Previous is the holder before an acquisition, as the replica saw it.
	Previous string `json:"previous,omitempty"`
	// Reason is the logged reason.
	Reason string `json:"reason,omitempty"`
}

// Events returns the leadership events among lines, in order.
func Events(lines []LogLine) []Event {
	var out []Event
	for _, l := range lines {
		kind, ok := leadershipMessages[l.Msg]
		if !ok {
			continue
		}
		out = append(out, Event{Time: l.Time, Identity: l.String("identity"), Kind: kind,
			Previous: l.String("previous"), Reason: l.String("reason")})
	}
	return out
}

// Events returns the replica's leadership events so far.
func (r *Replica) Events() ([]Event, error) {
	lines, err := r.Log()
	if err != nil {
		return nil, err
	}
	return Events(lines), nil
}
