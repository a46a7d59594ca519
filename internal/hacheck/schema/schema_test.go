package schema_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/internal/hacheck/schema"
)

// testSchema exercises every rule the messages word, in the shapes the
// primus schema uses them.
const testSchema = `
$schema: http://json-schema.org/draft-07/schema#
type: object
additionalProperties: false
definitions:
  intOrPercent:
    description: An integer or a percentage.
    oneOf:
      - type: integer
        minimum: 0
      - type: string
        pattern: "^[0-9]+%$"
allOf:
  - if:
      properties:
        replicas: {type: integer, minimum: 2}
      required: [replicas]
    then:
      properties:
        lock:
          properties:
            enabled:
              const: true
              description: replicas > 1 requires lock.enabled=true
properties:
  replicas: {type: integer, minimum: 1, maximum: 9}
  mode: {type: string, enum: [soft, hard]}
  level: {type: string, enum: [debug, info, warn, error]}
  duration: {type: string, pattern: "^[0-9]+(ms|s|m|h)$"}
  name: {type: string, minLength: 2, maxLength: 5}
  budget: {$ref: "#/definitions/intOrPercent"}
  overlap:
    oneOf:
      - type: integer
      - minimum: 0
  either:
    anyOf:
      - type: boolean
      - type: string
        enum: ["yes", "no"]
  notString: {not: {type: string}}
  ratio: {type: number, exclusiveMinimum: 0, multipleOf: 0.5}
  port: {type: [integer, string]}
  tags: {type: array, minItems: 1, uniqueItems: true, items: {type: string}}
  pair:
    type: array
    items: [{type: string}, {type: integer}]
  env:
    type: object
    additionalProperties: false
    patternProperties:
      "^[A-Z_]+$": {type: string}
  limits: {type: object, minProperties: 1}
  lock:
    type: object
    additionalProperties: false
    properties:
      enabled: {type: boolean}
      leaseDuration: {type: string}
  labels:
    type: object
    additionalProperties: {type: string}
  args:
    type: array
    items: {type: string}
  constraints:
    type: array
    items:
      type: object
      required: [key]
      properties:
        key: {type: string}
`

func compiled(t *testing.T) []byte {
	t.Helper()
	out, err := schema.FromYAML([]byte(testSchema))
	require.NoError(t, err)
	return out
}

var validators = []struct {
	name     string
	validate func([]byte, map[string]any) error
}{
	{"santhosh", schema.Validate},
	{"gojsonschema", schema.ValidateGojsonschema},
}

func TestValidate(t *testing.T) {
	schemaJSON := compiled(t)
	tests := []struct {
		name   string
		values map[string]any
		want   []string // violations, one a line; nil when valid
	}{
		{name: "empty", values: map[string]any{}},
		{name: "nil", values: nil},
		{name: "float64 integer, as sigs.k8s.io/yaml parses 3", values: map[string]any{"replicas": float64(3), "lock": map[string]any{"enabled": true}}},
		{name: "int64 integer, as --set parses 3", values: map[string]any{"replicas": int64(3), "lock": map[string]any{"enabled": true}}},
		{name: "int integer", values: map[string]any{"replicas": 3, "lock": map[string]any{"enabled": true}}},
		{name: "json.Number integer", values: map[string]any{"replicas": json.Number("3"), "lock": map[string]any{"enabled": true}}},
		{name: "typed nested map and slice", values: map[string]any{"labels": map[string]string{"a": "b"}, "args": []string{"--x"}}},
		{name: "fraction", values: map[string]any{"replicas": 2.5}, want: []string{"replicas: must be integer, got 2.5"}},
		{name: "minimum", values: map[string]any{"replicas": int64(0)}, want: []string{"replicas: must be >= 1, got 0"}},
		{name: "maximum", values: map[string]any{"replicas": float64(10), "lock": map[string]any{"enabled": true}}, want: []string{"replicas: must be <= 9, got 10"}},
		{name: "type string", values: map[string]any{"replicas": "three"}, want: []string{`replicas: must be integer, got "three"`}},
		{name: "enum of two", values: map[string]any{"mode": "medium"}, want: []string{`mode: must be soft or hard, got "medium"`}},
		{name: "enum of four", values: map[string]any{"level": "trace"}, want: []string{`level: must be one of debug, info, warn, error, got "trace"`}},
		{name: "pattern", values: map[string]any{"duration": "15"}, want: []string{`duration: must match pattern ^[0-9]+(ms|s|m|h)$, got "15"`}},
		{name: "minLength", values: map[string]any{"name": "x"}, want: []string{"name: must be at least 2 characters long, got 1"}},
		{name: "maxLength", values: map[string]any{"name": "primus"}, want: []string{"name: must be at most 5 characters long, got 6"}},
		{name: "unknown top-level key", values: map[string]any{"Replicas": 3}, want: []string{"Replicas: unknown key (additional properties are not allowed); did you mean replicas?"}},
		{name: "unknown nested key", values: map[string]any{"lock": map[string]any{"leaseDurationn": "15s"}}, want: []string{"lock.leaseDurationn: unknown key (additional properties are not allowed); did you mean leaseDuration?"}},
		{name: "unknown key, nothing close", values: map[string]any{"zzz": 1}, want: []string{"zzz: unknown key (additional properties are not allowed)"}},
		{name: "const of a conditional", values: map[string]any{"replicas": 3, "lock": map[string]any{"enabled": false}}, want: []string{"lock.enabled: must be true, got false (replicas > 1 requires lock.enabled=true)"}},
		{name: "oneOf, none matches", values: map[string]any{"budget": "abc"}, want: []string{`budget: must be an integer >= 0 or a string matching ^[0-9]+%$, got "abc" (An integer or a percentage)`}},
		{name: "oneOf, negative", values: map[string]any{"budget": -1}, want: []string{`budget: must be an integer >= 0 or a string matching ^[0-9]+%$, got -1 (An integer or a percentage)`}},
		{name: "oneOf, percentage", values: map[string]any{"budget": "25%"}},
		{name: "oneOf, several match", values: map[string]any{"overlap": 5}, want: []string{"overlap: must be exactly one of an integer or a value >= 0, but is several"}},
		{name: "anyOf, none matches", values: map[string]any{"either": "maybe"}, want: []string{`either: must be a boolean or yes or no, got "maybe"`}},
		{name: "not", values: map[string]any{"notString": "x"}, want: []string{"notString: must not be a string"}},
		{name: "array item", values: map[string]any{"args": []any{"--a", 42}}, want: []string{"args[1]: must be string, got 42"}},
		{name: "required in an array item", values: map[string]any{"constraints": []any{map[string]any{"key": "a"}, map[string]any{}}}, want: []string{"constraints[1].key: is required"}},
		{name: "map value with an unusual key", values: map[string]any{"labels": map[string]any{"kubernetes.io/os": 1, "plain": true}}, want: []string{
			"labels.plain: must be string, got true",
			`labels["kubernetes.io/os"]: must be string, got 1`,
		}},
		{name: "exclusiveMinimum", values: map[string]any{"ratio": 0}, want: []string{"ratio: must be > 0, got 0"}},
		{name: "multipleOf", values: map[string]any{"ratio": 0.3}, want: []string{"ratio: must be a multiple of 0.5, got 0.3"}},
		{name: "type list", values: map[string]any{"port": true}, want: []string{"port: must be integer or string, got true"}},
		{name: "minItems", values: map[string]any{"tags": []any{}}, want: []string{"tags: must have at least 1 items, got 0"}},
		{name: "uniqueItems", values: map[string]any{"tags": []any{"a", "a"}}, want: []string{"tags: must not repeat an item"}},
		{name: "tuple items", values: map[string]any{"pair": []any{"a", "b"}}, want: []string{`pair[1]: must be integer, got "b"`}},
		{name: "patternProperties", values: map[string]any{"env": map[string]any{"HOME": 1, "lower": "x"}}, want: []string{
			"env.HOME: must be string, got 1",
			"env.lower: unknown key (additional properties are not allowed)",
		}},
		{name: "minProperties", values: map[string]any{"limits": map[string]any{}}, want: []string{"limits: must have at least 1 keys, got 0"}},
		{name: "several violations, sorted", values: map[string]any{"replicas": 0, "mode": "x", "typo": 1}, want: []string{
			`mode: must be soft or hard, got "x"`,
			"replicas: must be >= 1, got 0",
			"typo: unknown key (additional properties are not allowed)",
		}},
	}
	for _, tc := range tests {
		for _, v := range validators {
			t.Run(tc.name+"/"+v.name, func(t *testing.T) {
				err := v.validate(schemaJSON, tc.values)
				if tc.want == nil {
					require.NoError(t, err)
					return
				}
				var verr *schema.ValidationError
				require.True(t, errors.As(err, &verr), "want a *ValidationError, got %v", err)
				got := make([]string, len(verr.Violations))
				for i, viol := range verr.Violations {
					got[i] = viol.String()
				}
				assert.Equal(t, tc.want, got)
			})
		}
	}
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name    string
		schema  string
		values  map[string]any
		wantErr string
	}{
		{name: "schema is not JSON", schema: "{", values: map[string]any{}, wantErr: "decode schema"},
		{name: "schema is not an object", schema: "[]", values: map[string]any{}, wantErr: "want a JSON object"},
		{name: "schema does not compile", schema: `{"$schema": "http://json-schema.org/draft-07/schema#", "type": 3}`, values: map[string]any{}, wantErr: "compile schema"},
		{name: "values are not JSON data", schema: `{"type": "object"}`, values: map[string]any{"a": map[any]any{1: 2}}, wantErr: "values are not JSON data"},
	}
	for _, tc := range tests {
		for _, v := range validators {
			t.Run(tc.name+"/"+v.name, func(t *testing.T) {
				err := v.validate([]byte(tc.schema), tc.values)
				require.Error(t, err)
				var verr *schema.ValidationError
				assert.False(t, errors.As(err, &verr), "not a violation of the schema: %v", err)
				assert.ErrorContains(t, err, tc.wantErr)
			})
		}
	}
}

// TestEachLibraryCompilesAlone: a schema only one library compiles still
// validates with that one, and CheckSchema refuses it. gojsonschema
// compiles a $ref to an anchor that does not exist; santhosh-tekuri/jsonschema
// (Helm >= 3.19) refuses it.
func TestEachLibraryCompilesAlone(t *testing.T) {
	schemaJSON := []byte(`{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"a": {"type": "string"}, "b": {"$ref": "#missing"}}}`)
	assert.ErrorContains(t, schema.ValidateGojsonschema(schemaJSON, map[string]any{"a": 1}), "a: must be string, got 1")
	assert.ErrorContains(t, schema.Validate(schemaJSON, map[string]any{"a": 1}), "compile schema with santhosh-tekuri/jsonschema")
	assert.ErrorContains(t, schema.CheckSchema(schemaJSON), "compile schema with santhosh-tekuri/jsonschema")
}

func TestCheckSchema(t *testing.T) {
	tests := []struct {
		name    string
		schema  string
		wantErr string
	}{
		{name: "portable", schema: testSchema},
		{name: "does not compile", schema: `{$schema: "http://json-schema.org/draft-07/schema#", minimum: one}`, wantErr: "compile schema"},
		{name: "no $schema", schema: `{type: object}`, wantErr: "name draft-07"},
		{name: "2020-12", schema: `{$schema: "https://json-schema.org/draft/2020-12/schema", type: object}`, wantErr: "name draft-07"},
		{
			name:    "format",
			schema:  `{$schema: "http://json-schema.org/draft-07/schema#", properties: {format: {type: string}, url: {type: string, format: uri}}, default: {format: x}}`,
			wantErr: "format at #/properties/url/format: Helm <= 3.18 and Helm >= 3.19 check formats differently",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			schemaJSON, err := schema.FromYAML([]byte(tc.schema))
			require.NoError(t, err)
			err = schema.CheckSchema(schemaJSON)
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}

// TestFormatVerdictsDiffer shows why CheckSchema refuses format: the two
// libraries, called as Helm calls them, disagree on it.
func TestFormatVerdictsDiffer(t *testing.T) {
	schemaJSON := []byte(`{"$schema": "http://json-schema.org/draft-07/schema#", "properties": {"leaseDuration": {"type": "string", "format": "duration"}}}`)
	values := map[string]any{"leaseDuration": "15s"}
	assert.ErrorContains(t, schema.Validate(schemaJSON, values), `leaseDuration: must be a valid duration, got "15s"`, "santhosh-tekuri/jsonschema checks ISO 8601 durations")
	assert.NoError(t, schema.ValidateGojsonschema(schemaJSON, values), "gojsonschema knows no duration format")
}
