package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"sigs.k8s.io/yaml"
)

// FromYAML converts the YAML source of a JSON schema to the JSON a chart
// ships as values.schema.json: object keys sorted, indented by two spaces,
// characters such as < > & left unescaped, and a trailing newline. The same
// source always gives the same bytes.
func FromYAML(src []byte) ([]byte, error) {
	raw, err := yaml.YAMLToJSON(src)
	if err != nil {
		return nil, fmt.Errorf("convert schema YAML to JSON: %w", err)
	}
	doc, err := decodeJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("decode converted schema: %w", err)
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, errors.New("convert schema YAML to JSON: the document is not a mapping")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode schema JSON: %w", err)
	}
	return buf.Bytes(), nil
}

// decodeJSON decodes one JSON document, keeping numbers as json.Number so an
// integer stays an integer whatever its size.
func decodeJSON(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON document")
	}
	return doc, nil
}

// normalize turns values as Helm holds them (float64 or int64 numbers, nested
// maps and slices) into plain JSON data with json.Number numbers, the form
// both libraries read the same way. Nil values are the empty document.
func normalize(values map[string]any) (doc any, raw []byte, err error) {
	if values == nil {
		values = map[string]any{}
	}
	raw, err = json.Marshal(values)
	if err != nil {
		return nil, nil, fmt.Errorf("values are not JSON data: %w", err)
	}
	doc, err = decodeJSON(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("decode values: %w", err)
	}
	return doc, raw, nil
}
