package schema

import (
	"fmt"

	"github.com/xeipuuv/gojsonschema"
)

// CheckSchema reports whether schemaJSON is a schema both libraries
// compile, so every Helm 3 release can validate with it.
func CheckSchema(schemaJSON []byte) error {
	if _, err := parseDocument(schemaJSON); err != nil {
		return err
	}
	if _, err := compileSanthosh(schemaJSON); err != nil {
		return fmt.Errorf("santhosh-tekuri/jsonschema: %w", err)
	}
	if _, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(schemaJSON)); err != nil {
		return fmt.Errorf("gojsonschema: compile schema: %w", err)
	}
	return nil
}
