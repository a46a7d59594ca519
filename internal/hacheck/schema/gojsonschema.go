package schema

import (
	"fmt"
	"strings"

	"github.com/xeipuuv/gojsonschema"
)

// gojsonschemaKeywords maps gojsonschema's error types to the keyword that
// failed. Types mapped to "" only wrap errors reported on their own.
var gojsonschemaKeywords = map[string]string{
	"invalid_type":                    "type",
	"number_gte":                      "minimum",
	"number_gt":                       "exclusiveMinimum",
	"number_lte":                      "maximum",
	"number_lt":                       "exclusiveMaximum",
	"multiple_of":                     "multipleOf",
	"enum":                            "enum",
	"const":                           "const",
	"pattern":                         "pattern",
	"format":                          "format",
	"string_gte":                      "minLength",
	"string_lte":                      "maxLength",
	"array_min_items":                 "minItems",
	"array_max_items":                 "maxItems",
	"array_no_additional_items":       "additionalItems",
	"unique":                          "uniqueItems",
	"contains":                        "contains",
	"array_min_properties":            "minProperties",
	"array_max_properties":            "maxProperties",
	"additional_property_not_allowed": "additionalProperties",
	"invalid_property_name":           "propertyNames",
	"required":                        "required",
	"missing_dependency":              "dependencies",
	"number_one_of":                   "oneOf",
	"number_any_of":                   "anyOf",
	"number_not":                      "not",
	"false":                           "false",
	"number_all_of":                   "",
	"condition_then":                  "",
	"condition_else":                  "",
}

// ValidateGojsonschema checks values against schemaJSON with
// xeipuuv/gojsonschema, as Helm 3.18 and earlier did, and reports with the
// same keys and words as Validate.
//
// It returns nil when the values are valid, a *ValidationError listing every
// violation when they are not, and a wrapped error when the schema does not
// load or the values are not JSON data.
func ValidateGojsonschema(schemaJSON []byte, values map[string]any) error {
	c, err := compile(schemaJSON)
	if err != nil {
		return err
	}
	sch, err := c.gojsonschemaSchema()
	if err != nil {
		return err
	}
	inst, raw, err := normalize(values)
	if err != nil {
		return err
	}
	res, err := sch.Validate(gojsonschema.NewBytesLoader(raw))
	if err != nil {
		return fmt.Errorf("validate values with gojsonschema: %w", err)
	}
	if res.Valid() {
		return nil
	}
	return c.doc.report(collectGojsonschema(c.doc, res.Errors(), inst), inst)
}

// collectGojsonschema turns the library's flat error list into findings.
//
// When no branch of a oneOf or anyOf matches, gojsonschema reports the
// errors of the closest branch after the oneOf error itself, at the same
// location or below it. Those are dropped: no subschema outside the
// branches holds their keyword there. A oneOf followed by none of them
// matched several branches.
func collectGojsonschema(doc *document, errs []gojsonschema.ResultError, values any) []finding {
	var fs []finding
	var choices []int // indexes in fs of oneOf and anyOf findings
	for _, e := range errs {
		keyword, known := gojsonschemaKeywords[e.Type()]
		if known && keyword == "" {
			continue
		}
		f := finding{path: contextPath(e.Context()), keyword: keyword, library: e.Description()}
		if prop, ok := e.Details()["property"].(string); ok && (keyword == "additionalProperties" || keyword == "required") {
			f.props = []string{prop}
		}
		if c := innermost(fs, choices, f.path); c >= 0 && !hasKeyword(doc, f, values) {
			fs[c].many = false
			continue
		}
		if keyword == "oneOf" {
			f.many = true
		}
		if keyword == "oneOf" || keyword == "anyOf" {
			choices = append(choices, len(fs))
		}
		fs = append(fs, f)
	}
	return fs
}

// innermost returns the index of the deepest oneOf or anyOf finding whose
// location holds path, or -1.
func innermost(fs []finding, choices []int, path []string) int {
	best := -1
	for _, c := range choices {
		if hasPrefix(path, fs[c].path) && (best < 0 || len(fs[c].path) > len(fs[best].path)) {
			best = c
		}
	}
	return best
}

// hasKeyword reports whether a subschema outside any oneOf or anyOf branch
// holds the finding's keyword at its location.
func hasKeyword(doc *document, f finding, values any) bool {
	if f.keyword == "" {
		return false
	}
	prop := ""
	if len(f.props) > 0 {
		prop = f.props[0]
	}
	n, ok := doc.owner(f.path, values, f.keyword, prop)
	if !ok {
		return false
	}
	return f.keyword != "required" || listed(n.m["required"], prop)
}

// contextPath splits a gojsonschema context ("(root).tolerations.0") into
// tokens, without the root.
func contextPath(c *gojsonschema.JsonContext) []string {
	if c == nil {
		return nil
	}
	toks := strings.Split(c.String("\x00"), "\x00")
	if len(toks) > 0 && toks[0] == "(root)" {
		toks = toks[1:]
	}
	return toks
}
