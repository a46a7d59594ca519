package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Row is one documented value: a line of the values table.
type Row struct {
	// Key is the dotted path of the value, e.g. leaderElection.leaseDuration.
	Key string
	// Type is int, float, string, bool, object, list, null, or the type the
	// description names (`int or string`).
	Type string
	// Default is the value in values.yaml as compact JSON, keys in file order.
	Default string
	// Description is the `# --` comment joined into one line.
	Description string
}

// UndocumentedError names the keys that have neither their own `# --`
// comment nor documented children.
type UndocumentedError struct{ Keys []string }

func (e *UndocumentedError) Error() string {
	return fmt.Sprintf("undocumented values (add a `# --` comment right above each): %s",
		strings.Join(e.Keys, ", "))
}

// Parse reads a values.yaml and returns one row per documented key, in file
// order. A key whose comment documents a whole map is one row with the map as
// its default; a map without its own comment contributes its documented
// children. Any other key is undocumented, and Parse returns an
// *UndocumentedError naming all of them.
func Parse(data []byte) ([]Row, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, errors.New("no values")
	}
	root := resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, errors.New("values must be a map at the top level")
	}
	w := walker{}
	if err := w.mapping("", root); err != nil {
		return nil, err
	}
	if len(w.undocumented) > 0 {
		return nil, &UndocumentedError{Keys: w.undocumented}
	}
	return w.rows, nil
}

// walker collects rows and undocumented keys over a values tree.
type walker struct {
	rows         []Row
	undocumented []string
}

func (w *walker) mapping(prefix string, m *yaml.Node) error {
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, value := m.Content[i], resolve(m.Content[i+1])
		if key.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: a key under %q is not a string", key.Line, prefix)
		}
		path := key.Value
		if prefix != "" {
			path = prefix + "." + key.Value
		}
		desc, ok := description(key.HeadComment)
		switch {
		case ok:
			row, err := newRow(path, value, desc)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			w.rows = append(w.rows, row)
		case value.Kind == yaml.MappingNode && len(value.Content) > 0:
			if err := w.mapping(path, value); err != nil {
				return err
			}
		default:
			w.undocumented = append(w.undocumented, path)
		}
	}
	return nil
}

func newRow(key string, value *yaml.Node, desc string) (Row, error) {
	def, err := compactJSON(value)
	if err != nil {
		return Row{}, err
	}
	typ, desc := explicitType(desc)
	if typ == "" {
		typ = kind(value, desc)
	}
	return Row{Key: key, Type: typ, Default: def, Description: desc}, nil
}

// docStart matches the first line of a helm-docs comment: `# --`.
var docStart = regexp.MustCompile(`^#\s*--(\s|$)`)

// description returns the `# --` comment at the end of a key's head comment,
// its lines joined into one. Lines before the last `# --` line are not part
// of it (a file header, a commented-out example). A blank line between the
// comment and the key detaches it. An empty `# --` documents nothing.
func description(head string) (string, bool) {
	lines := strings.Split(head, "\n")
	start := -1
	for i, line := range lines {
		if docStart.MatchString(strings.TrimSpace(line)) {
			start = i
		}
	}
	if start < 0 {
		return "", false
	}
	var words []string
	for i, line := range lines[start:] {
		line = strings.TrimSpace(line)
		if line == "" {
			return "", false
		}
		line = strings.TrimPrefix(line, "#")
		if i == 0 {
			line = strings.TrimPrefix(strings.TrimSpace(line), "--")
		}
		words = append(words, strings.Fields(line)...)
	}
	desc := strings.Join(words, " ")
	return desc, desc != ""
}

// typeAnnotation is helm-docs' explicit type: `# -- (int or string) text`.
var typeAnnotation = regexp.MustCompile(`^\(([^()]+)\)\s*`)

// explicitType splits a leading `(type)` annotation off a description.
func explicitType(desc string) (typ, rest string) {
	m := typeAnnotation.FindStringSubmatch(desc)
	if m == nil {
		return "", desc
	}
	return strings.TrimSpace(m[1]), desc[len(m[0]):]
}

// intOrString matches descriptions of values that take a number or a string,
// such as a PodDisruptionBudget's `integer or percentage`.
var intOrString = regexp.MustCompile(`(?i)\b(int|integer|number)\s+or\s+(string|percentage)\b`)

// kind names the type of a value from its YAML kind; a null whose
// description says it takes an integer or a string is `int or string`.
func kind(n *yaml.Node, desc string) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "object"
	case yaml.SequenceNode:
		return "list"
	}
	switch n.ShortTag() {
	case "!!int":
		return "int"
	case "!!float":
		return "float"
	case "!!bool":
		return "bool"
	case "!!null":
		if intOrString.MatchString(desc) {
			return "int or string"
		}
		return "null"
	default:
		return "string"
	}
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}
