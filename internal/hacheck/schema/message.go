package schema

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// finding is one failed keyword as a library reports it, before wording.
type finding struct {
	// path is the location of the value, one token per key or index.
	path []string
	// keyword is the failed keyword: "type", "minimum", "oneOf", ...
	keyword string
	// at is the subschema holding keyword when the library says which;
	// otherwise the document finds it from path.
	at *node
	// props are the offending properties of additionalProperties and the
	// missing ones of required.
	props []string
	// many is set for a oneOf that several branches matched, not none.
	many bool
	// library is the library's own wording, used for keywords not worded here.
	library string
}

// report words findings into a *ValidationError, sorted and without
// duplicates. It never returns an empty list: the caller only reports when
// its library said the values are invalid.
func (d *document) report(fs []finding, values any) error {
	var vs []Violation
	seen := map[Violation]bool{}
	for _, f := range fs {
		for _, v := range d.word(f, values) {
			if !seen[v] {
				seen[v] = true
				vs = append(vs, v)
			}
		}
	}
	if len(vs) == 0 {
		vs = []Violation{{Message: "does not match the schema"}}
	}
	sort.Slice(vs, func(i, j int) bool {
		if vs[i].Key != vs[j].Key {
			return vs[i].Key < vs[j].Key
		}
		return vs[i].Message < vs[j].Message
	})
	return &ValidationError{Violations: vs}
}

// word turns a finding into violations, one per offending property for
// additionalProperties and required, one otherwise.
func (d *document) word(f finding, values any) []Violation {
	prop := ""
	if len(f.props) > 0 {
		prop = f.props[0]
	}
	n, found := node{}, false
	if f.at != nil {
		n, found = *f.at, true
	} else {
		n, found = d.owner(f.path, values, f.keyword, prop)
	}
	switch f.keyword {
	case "additionalProperties":
		vs := make([]Violation, 0, len(f.props))
		for _, p := range f.props {
			msg := "unknown key (additional properties are not allowed)"
			if s := suggest(propertyNames(n), p); s != "" {
				msg += fmt.Sprintf("; did you mean %s?", s)
			}
			vs = append(vs, Violation{Key: formatKey(values, append(clip(f.path), p)), Message: msg})
		}
		return vs
	case "required":
		vs := make([]Violation, 0, len(f.props))
		for _, p := range f.props {
			vs = append(vs, Violation{Key: formatKey(values, append(clip(f.path), p)), Message: "is required"})
		}
		return vs
	}
	msg, ok := "", false
	if found {
		msg, ok = d.rule(n, f, valueAt(values, f.path))
	}
	if !ok {
		msg = f.library
	} else if desc := description(n); desc != "" {
		msg += " (" + desc + ")"
	}
	return []Violation{{Key: formatKey(values, f.path), Message: msg}}
}

// rule words the failed keyword of n for the value v; false when the
// keyword is not one it knows.
func (d *document) rule(n node, f finding, v any) (string, bool) {
	kw := n.m[f.keyword]
	got := display(v)
	switch f.keyword {
	case "type":
		return fmt.Sprintf("must be %s, got %s", strings.Join(typeList(kw), " or "), got), true
	case "minimum", "maximum":
		op := map[string]string{"minimum": ">=", "maximum": "<="}[f.keyword]
		if n.m["exclusive"+strings.ToUpper(f.keyword[:1])+f.keyword[1:]] == true {
			op = op[:1] // draft-04 boolean exclusiveMinimum/exclusiveMaximum
		}
		return fmt.Sprintf("must be %s %s, got %s", op, literal(kw), got), true
	case "exclusiveMinimum":
		return fmt.Sprintf("must be > %s, got %s", literal(kw), got), true
	case "exclusiveMaximum":
		return fmt.Sprintf("must be < %s, got %s", literal(kw), got), true
	case "multipleOf":
		return fmt.Sprintf("must be a multiple of %s, got %s", literal(kw), got), true
	case "enum":
		list, _ := kw.([]any)
		return fmt.Sprintf("must be %s, got %s", oneOfList(list), got), true
	case "const":
		return fmt.Sprintf("must be %s, got %s", literal(kw), got), true
	case "pattern":
		return fmt.Sprintf("must match pattern %s, got %s", literal(kw), got), true
	case "format":
		return fmt.Sprintf("must be a valid %s, got %s", literal(kw), got), true
	case "minLength", "maxLength":
		s, _ := v.(string)
		return fmt.Sprintf("must be %s %s characters long, got %d", bound(f.keyword), literal(kw), utf8.RuneCountInString(s)), true
	case "minItems", "maxItems":
		a, _ := v.([]any)
		return fmt.Sprintf("must have %s %s items, got %d", bound(f.keyword), literal(kw), len(a)), true
	case "minProperties", "maxProperties":
		m, _ := v.(map[string]any)
		return fmt.Sprintf("must have %s %s keys, got %d", bound(f.keyword), literal(kw), len(m)), true
	case "uniqueItems":
		return "must not repeat an item", true
	case "oneOf", "anyOf":
		alts := d.alternatives(n, f.keyword)
		if f.many {
			return fmt.Sprintf("must be exactly one of %s, but is several", orList(alts)), true
		}
		return fmt.Sprintf("must be %s, got %s", orList(alts), got), true
	case "not":
		c, ok := d.child(n, "not")
		if !ok {
			return "is not allowed", true
		}
		return "must not be " + d.describe(c), true
	case "false":
		return "is not allowed", true
	}
	return "", false
}

// alternatives describes each branch of n's oneOf or anyOf.
func (d *document) alternatives(n node, keyword string) []string {
	branches, _ := n.m[keyword].([]any)
	alts := make([]string, 0, len(branches))
	for i := range branches {
		if c, ok := d.child(n, keyword, strconv.Itoa(i)); ok {
			alts = append(alts, d.describe(c))
		} else {
			alts = append(alts, "any value")
		}
	}
	return alts
}

// describe says in a few words what a simple subschema accepts:
// "an integer >= 0", "a string matching ^[0-9]+%$", "null".
func (d *document) describe(n node) string {
	n, ok := d.deref(n)
	if !ok {
		return "a value matching " + n.ptr
	}
	if c, ok := n.m["const"]; ok {
		return literal(c)
	}
	if e, ok := n.m["enum"].([]any); ok {
		return oneOfList(e)
	}
	var words []string
	if types := typeList(n.m["type"]); len(types) > 0 {
		for i, t := range types {
			types[i] = withArticle(t)
		}
		words = append(words, strings.Join(types, " or "))
	} else {
		words = append(words, "a value")
	}
	for _, c := range []struct{ kw, text string }{
		{"minimum", ">= %s"}, {"exclusiveMinimum", "> %s"},
		{"maximum", "<= %s"}, {"exclusiveMaximum", "< %s"},
		{"pattern", "matching %s"},
		{"minLength", "of at least %s characters"}, {"maxLength", "of at most %s characters"},
	} {
		if v, ok := n.m[c.kw]; ok && v != true && v != false {
			words = append(words, fmt.Sprintf(c.text, literal(v)))
		}
	}
	if len(words) == 1 && words[0] == "a value" {
		if desc := description(n); desc != "" {
			return desc
		}
		return "a value matching #" + n.ptr
	}
	return strings.Join(words, " ")
}

// description returns n's description on one line, without a final period.
func description(n node) string {
	desc, _ := n.m["description"].(string)
	return strings.TrimSuffix(strings.Join(strings.Fields(desc), " "), ".")
}

// typeList returns the type keyword as a list.
func typeList(t any) []string {
	switch t := t.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return nil
}

// withArticle prefixes a JSON type name with its article; null has none.
func withArticle(t string) string {
	switch t {
	case "null":
		return t
	case "integer", "object", "array":
		return "an " + t
	}
	return "a " + t
}

// bound returns "at least" for min keywords and "at most" for max ones.
func bound(keyword string) string {
	if strings.HasPrefix(keyword, "min") {
		return "at least"
	}
	return "at most"
}

// oneOfList words an enum: "soft or hard", "one of ClusterIP, NodePort, LoadBalancer".
func oneOfList(list []any) string {
	words := make([]string, len(list))
	for i, x := range list {
		words[i] = literal(x)
	}
	switch len(words) {
	case 0:
		return "nothing"
	case 1, 2:
		return strings.Join(words, " or ")
	}
	return "one of " + strings.Join(words, ", ")
}

// orList joins descriptions: "a, b or c".
func orList(words []string) string {
	if len(words) <= 1 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// literal shows a value from the schema: plain words stay bare, other
// strings are quoted, numbers and booleans print as JSON does.
func literal(v any) string {
	if s, ok := v.(string); ok && s != "" && strings.IndexFunc(s, func(r rune) bool {
		return r == ' ' || r == ',' || r == '"' || r < ' '
	}) < 0 {
		return s
	}
	return display(v)
}

// display shows a value from the values document: strings quoted (long ones
// cut short), numbers as written, objects and arrays by kind only.
func display(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		if utf8.RuneCountInString(v) > 60 {
			v = string([]rune(v)[:57]) + "..."
		}
		return strconv.Quote(v)
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprint(v)
}

// jsonType names the JSON type of decoded data.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number, float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// suggest returns the declared name closest to an unknown key: the same
// name in another case, or one within two edits. Empty when none is close.
func suggest(names []string, key string) string {
	sort.Strings(names)
	best, bestDist := "", 3
	for _, name := range names {
		if strings.EqualFold(name, key) {
			return name
		}
		if dist := editDistance(strings.ToLower(name), strings.ToLower(key)); dist < bestDist && dist < len(key) {
			best, bestDist = name, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
