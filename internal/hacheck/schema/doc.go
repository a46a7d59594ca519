// Package schema validates Helm chart values against a chart's JSON schema
// (values.schema.json) the way Helm does, and reports every violation as one
// readable line: the dotted key of the offending value, then the rule it
// breaks ("replicaCount: must be >= 1, got 0").
//
// Validate uses santhosh-tekuri/jsonschema/v6, the library of Helm 3.19 and
// later; ValidateGojsonschema uses xeipuuv/gojsonschema, the library of Helm
// 3.18 and earlier. Both take only the keyword that failed and the location of
// the value from their library and word the message from the schema itself, so
// the same values break the same rules, in the same words, under either one.
// FromYAML turns the YAML source of a schema into the JSON Helm reads, and
// CheckSchema proves a schema gives the same verdicts under every Helm 3
// release. Compiled schemas are cached by content, so validating many values
// files against one schema compiles it once.
//
// It is not a chart linter and renders no templates: rules that only a
// template can check (durations compared with each other, a budget that
// blocks every drain) live in the chart's _validate.tpl. It never fetches
// remote schemas.
package schema
