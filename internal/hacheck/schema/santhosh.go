package schema

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// resourceURL is where Helm puts a chart's schema when it compiles it; the
// schema's own locations are fragments of it.
const resourceURL = "file:///values.schema.json"

// english prints the library's own messages for keywords this package does
// not word itself.
var english = message.NewPrinter(language.English)

// Validate checks values against schemaJSON with santhosh-tekuri/jsonschema/v6,
// compiled as Helm 3.19 and later compile a chart's values.schema.json (no
// default draft: a schema without $schema is read as 2020-12). Values may
// hold float64 or int64 numbers, as Helm's YAML parsing and --set produce.
//
// It returns nil when the values are valid, a *ValidationError listing every
// violation when they are not, and a wrapped error when the schema does not
// compile or the values are not JSON data.
func Validate(schemaJSON []byte, values map[string]any) error {
	c, err := compile(schemaJSON)
	if err != nil {
		return err
	}
	sch, err := c.santhoshSchema()
	if err != nil {
		return err
	}
	inst, _, err := normalize(values)
	if err != nil {
		return err
	}
	err = sch.Validate(inst)
	if err == nil {
		return nil
	}
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return fmt.Errorf("validate values: %w", err)
	}
	var fs []finding
	collectSanthosh(c.doc, verr, &fs)
	return c.doc.report(fs, inst)
}

// compileSanthosh compiles a schema with santhosh-tekuri/jsonschema/v6.
// Only file references resolve; nothing is fetched over the network.
func compileSanthosh(schemaJSON []byte) (*jsonschema.Schema, error) {
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, fmt.Errorf("decode schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(resourceURL, raw); err != nil {
		return nil, fmt.Errorf("compile schema with santhosh-tekuri/jsonschema: %w", err)
	}
	sch, err := c.Compile(resourceURL)
	if err != nil {
		return nil, fmt.Errorf("compile schema with santhosh-tekuri/jsonschema: %w", err)
	}
	return sch, nil
}

// collectSanthosh walks the library's error tree to the failed keywords.
// Errors that only group others (the schema, $ref, allOf) are looked
// through; oneOf, anyOf and not are reported as themselves, not as the
// failures of each branch.
func collectSanthosh(doc *document, e *jsonschema.ValidationError, fs *[]finding) {
	f := finding{path: e.InstanceLocation, library: e.ErrorKind.LocalizedString(english)}
	switch k := e.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.Reference, *kind.AllOf:
		for _, c := range e.Causes {
			collectSanthosh(doc, c, fs)
		}
		return
	case *kind.OneOf:
		f.keyword, f.many = "oneOf", len(k.Subschemas) > 0
	case *kind.AnyOf:
		f.keyword = "anyOf"
	case *kind.Not:
		f.keyword = "not"
	case *kind.FalseSchema:
		f.keyword = "false"
	case *kind.AdditionalProperties:
		f.keyword, f.props = "additionalProperties", k.Properties
	case *kind.Required:
		f.keyword, f.props = "required", k.Missing
	default:
		if kp := k.KeywordPath(); len(kp) > 0 {
			f.keyword = kp[0]
		}
	}
	if _, frag, ok := strings.Cut(e.SchemaURL, "#"); ok {
		if n, ok := doc.resolve(frag); ok {
			f.at = &n
		}
	}
	*fs = append(*fs, f)
}
