package schema

import (
	"fmt"
	"sort"
	"strings"
)

// portableDrafts are the $schema values both libraries read the same way.
// gojsonschema knows no later draft, and santhosh-tekuri/jsonschema reads a
// schema without $schema as 2020-12, so the draft must be named.
var portableDrafts = map[string]bool{
	"http://json-schema.org/draft-04/schema#": true,
	"http://json-schema.org/draft-06/schema#": true,
	"http://json-schema.org/draft-07/schema#": true,
}

// CheckSchema reports whether schemaJSON gives the same verdicts under every
// Helm 3 release: both libraries compile it, its $schema names draft-04, 06
// or 07, and it uses no format keyword. Both libraries assert formats in
// those drafts, but with different checkers and different lists: format:
// duration means ISO 8601 ("PT15S") to santhosh-tekuri/jsonschema and
// nothing to gojsonschema, so "15s" passes Helm 3.18 and fails Helm 3.19.
func CheckSchema(schemaJSON []byte) error {
	c, err := compile(schemaJSON)
	if err != nil {
		return err
	}
	if _, err := c.santhoshSchema(); err != nil {
		return err
	}
	if _, err := c.gojsonschemaSchema(); err != nil {
		return err
	}
	if draft, _ := c.doc.root["$schema"].(string); !portableDrafts[draft] {
		return fmt.Errorf("$schema is %q: name draft-07 (http://json-schema.org/draft-07/schema#) so Helm <= 3.18 and >= 3.19 read the schema alike", draft)
	}
	if ptrs := formatKeywords(c.doc.root, ""); len(ptrs) > 0 {
		sort.Strings(ptrs)
		return fmt.Errorf("format at %s: Helm <= 3.18 and Helm >= 3.19 check formats differently; use a pattern", strings.Join(ptrs, ", "))
	}
	return nil
}

// formatKeywords returns the JSON pointers of format keywords under v,
// skipping the keywords whose values are data, not schemas.
func formatKeywords(v any, ptr string) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, c := range v {
			switch k {
			case "enum", "const", "default", "examples":
				continue
			case "format":
				if _, ok := c.(string); ok {
					out = append(out, "#"+ptr+"/format")
					continue
				}
			}
			out = append(out, formatKeywords(c, ptr+"/"+strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1"))...)
		}
	case []any:
		for i, c := range v {
			out = append(out, formatKeywords(c, fmt.Sprintf("%s/%d", ptr, i))...)
		}
	}
	return out
}
