package schema

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// document is a decoded schema that finds the subschemas applying to a value,
// so both validators can word a violation from the rule as written.
type document struct {
	root map[string]any
}

// node is one subschema and its JSON pointer in the document ("" is the root).
type node struct {
	ptr string
	m   map[string]any
}

// parseDocument decodes a schema; it must be a JSON object.
func parseDocument(schemaJSON []byte) (*document, error) {
	doc, err := decodeJSON(schemaJSON)
	if err != nil {
		return nil, fmt.Errorf("decode schema: %w", err)
	}
	root, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("decode schema: want a JSON object, got %s", jsonType(doc))
	}
	return &document{root: root}, nil
}

// resolve returns the subschema at a JSON pointer such as
// "/properties/replicaCount". Tokens may be percent-encoded.
func (d *document) resolve(ptr string) (node, bool) {
	var cur any = d.root
	if ptr != "" {
		for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
			if t, err := url.PathUnescape(tok); err == nil {
				tok = t
			}
			tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
			switch c := cur.(type) {
			case map[string]any:
				cur = c[tok]
			case []any:
				i, err := strconv.Atoi(tok)
				if err != nil || i < 0 || i >= len(c) {
					return node{}, false
				}
				cur = c[i]
			default:
				return node{}, false
			}
		}
	}
	m, ok := cur.(map[string]any)
	return node{ptr: ptr, m: m}, ok
}

// child returns the subschema under n at the given keyword tokens.
func (d *document) child(n node, toks ...string) (node, bool) {
	v := any(n.m)
	ptr := n.ptr
	for _, tok := range toks {
		ptr += "/" + strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
		switch c := v.(type) {
		case map[string]any:
			v = c[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return node{}, false
			}
			v = c[i]
		default:
			return node{}, false
		}
	}
	m, ok := v.(map[string]any)
	return node{ptr: ptr, m: m}, ok
}

// deref follows local $ref chains ("#/definitions/x"). Draft-07 ignores the
// siblings of $ref, and so does deref. Remote references are not followed.
func (d *document) deref(n node) (node, bool) {
	for range 32 {
		ref, ok := n.m["$ref"].(string)
		if !ok {
			return n, true
		}
		frag, found := strings.CutPrefix(ref, "#")
		if !found {
			return node{}, false
		}
		if n, ok = d.resolve(frag); !ok {
			return node{}, false
		}
	}
	return node{}, false
}

// closure adds to ns every subschema that applies to the same value without
// a choice: the targets of $ref, allOf members and the then/else branches of
// conditionals. It leaves out if (a test, not a rule) and the branches of
// oneOf, anyOf and not, whose failures are reported as one violation.
func (d *document) closure(ns []node) []node {
	seen := map[string]bool{}
	var out []node
	for len(ns) > 0 {
		n := ns[0]
		ns = ns[1:]
		n, ok := d.deref(n)
		if !ok || seen[n.ptr] {
			continue
		}
		seen[n.ptr] = true
		out = append(out, n)
		if all, ok := n.m["allOf"].([]any); ok {
			for i := range all {
				if c, ok := d.child(n, "allOf", strconv.Itoa(i)); ok {
					ns = append(ns, c)
				}
			}
		}
		for _, kw := range []string{"then", "else"} {
			if c, ok := d.child(n, kw); ok {
				ns = append(ns, c)
			}
		}
	}
	return out
}

// nodesAt returns the subschemas that apply to the value at path, walking
// values alongside to tell array indexes from object keys.
func (d *document) nodesAt(path []string, values any) []node {
	cur := d.closure([]node{{m: d.root}})
	v := values
	for _, seg := range path {
		var next []node
		if arr, ok := v.([]any); ok {
			i, _ := strconv.Atoi(seg)
			for _, n := range cur {
				next = append(next, d.itemSchemas(n, i)...)
			}
			v = nil
			if i >= 0 && i < len(arr) {
				v = arr[i]
			}
		} else {
			for _, n := range cur {
				next = append(next, d.propertySchemas(n, seg)...)
			}
			obj, _ := v.(map[string]any)
			v = obj[seg]
		}
		cur = d.closure(next)
	}
	return cur
}

// propertySchemas returns the subschemas of n for the property name.
func (d *document) propertySchemas(n node, name string) []node {
	if c, ok := d.child(n, "properties", name); ok {
		return []node{c}
	}
	var out []node
	if pats, ok := n.m["patternProperties"].(map[string]any); ok {
		for pat := range pats {
			if re, err := regexp.Compile(pat); err == nil && re.MatchString(name) {
				if c, ok := d.child(n, "patternProperties", pat); ok {
					out = append(out, c)
				}
			}
		}
	}
	if len(out) == 0 {
		if c, ok := d.child(n, "additionalProperties"); ok {
			out = append(out, c)
		}
	}
	return out
}

// itemSchemas returns the subschemas of n for the array item at index i.
func (d *document) itemSchemas(n node, i int) []node {
	switch items := n.m["items"].(type) {
	case map[string]any:
		c, _ := d.child(n, "items")
		return []node{c}
	case []any:
		if i < len(items) {
			if c, ok := d.child(n, "items", strconv.Itoa(i)); ok {
				return []node{c}
			}
			return nil
		}
		if c, ok := d.child(n, "additionalItems"); ok {
			return []node{c}
		}
	}
	return nil
}

// owner returns the subschema at path that holds keyword, the first one
// when several do. For required it prefers one that lists prop.
func (d *document) owner(path []string, values any, keyword, prop string) (node, bool) {
	var first *node
	for _, n := range d.nodesAt(path, values) {
		if _, ok := n.m[keyword]; !ok {
			continue
		}
		if keyword == "required" && !listed(n.m["required"], prop) {
			if first == nil {
				first = &n
			}
			continue
		}
		if keyword == "additionalProperties" && n.m[keyword] != false {
			continue
		}
		return n, true
	}
	if first != nil {
		return *first, true
	}
	return node{}, false
}

// listed reports whether the JSON array list holds the string s.
func listed(list any, s string) bool {
	arr, _ := list.([]any)
	for _, x := range arr {
		if x == s {
			return true
		}
	}
	return false
}

// propertyNames returns the names n declares under properties.
func propertyNames(n node) []string {
	props, _ := n.m["properties"].(map[string]any)
	names := make([]string, 0, len(props))
	for name := range props {
		names = append(names, name)
	}
	return names
}
