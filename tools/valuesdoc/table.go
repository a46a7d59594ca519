package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// tableHeader is the head of the values table, as helm-docs writes it.
const tableHeader = "| Key | Type | Default | Description |\n|-----|------|---------|-------------|\n"

// Table renders rows as a Markdown table, one line per row, ending in a
// newline.
func Table(rows []Row) string {
	var b strings.Builder
	b.WriteString(tableHeader)
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n",
			cell(r.Key), cell(r.Type), cell(codeSpan(r.Default)), cell(r.Description))
	}
	return b.String()
}

// cell escapes the pipes that would end a table cell early; GitHub needs the
// escape inside code spans too.
func cell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}

// codeSpan wraps s in a code span whose fence is longer than any run of
// backticks inside it.
func codeSpan(s string) string {
	longest, run := 0, 0
	for _, r := range s {
		if r != '`' {
			run = 0
			continue
		}
		run++
		longest = max(longest, run)
	}
	fence := strings.Repeat("`", longest+1)
	if longest > 0 {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// compactJSON encodes a YAML node as compact JSON, keeping the order of map
// keys as written (encoding/json would sort them).
func compactJSON(n *yaml.Node) (string, error) {
	var b bytes.Buffer
	if err := writeJSON(&b, n); err != nil {
		return "", err
	}
	return b.String(), nil
}

func writeJSON(b *bytes.Buffer, n *yaml.Node) error {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeString(b, n.Content[i].Value); err != nil {
				return err
			}
			b.WriteByte(':')
			if err := writeJSON(b, n.Content[i+1]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, item); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		return writeScalar(b, n)
	default:
		return fmt.Errorf("line %d: cannot show a YAML node of kind %d", n.Line, n.Kind)
	}
	return nil
}

// writeScalar writes numbers, booleans and null as JSON (0x10 becomes 16),
// and anything else, timestamps included, as the string written in the file.
func writeScalar(b *bytes.Buffer, n *yaml.Node) error {
	switch n.ShortTag() {
	case "!!int", "!!float", "!!bool", "!!null":
		var v any
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		out, err := json.Marshal(v)
		if err != nil { // .inf and .nan have no JSON form: show them as written
			b.WriteString(n.Value)
			return nil
		}
		b.Write(out)
		return nil
	default:
		return writeString(b, n.Value)
	}
}

// writeString writes s as a JSON string without escaping <, > and &, which
// would turn `<fullname>-leader` into unreadable \u003c escapes.
func writeString(b *bytes.Buffer, s string) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode appends a newline
	return nil
}
