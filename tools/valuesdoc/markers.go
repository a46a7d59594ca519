package main

import (
	"fmt"
	"strings"
)

// The markers between which the values table lives in a README.
const (
	startMarker = "<!-- values-table:start -->"
	endMarker   = "<!-- values-table:end -->"
)

// ReplaceTable returns doc with what lies between the markers replaced by
// table, set off by blank lines so that Markdown sees a table and not the
// tail of an HTML comment block. Each marker must appear exactly once, the
// start before the end.
func ReplaceTable(doc, table string) (string, error) {
	for _, m := range []string{startMarker, endMarker} {
		if n := strings.Count(doc, m); n != 1 {
			return "", fmt.Errorf("want one %s marker, found %d", m, n)
		}
	}
	start := strings.Index(doc, startMarker) + len(startMarker)
	end := strings.Index(doc, endMarker)
	if end < start {
		return "", fmt.Errorf("%s comes before %s", endMarker, startMarker)
	}
	return doc[:start] + "\n\n" + table + "\n" + doc[end:], nil
}
