// Package valuesschema is the source of the primus chart's values schema and
// the corpus that proves it.
//
// schema.yaml is the schema, written in YAML; charts/primus/values.schema.json
// is generated from it by `go run ./values-schema/gen` and checked by
// `go run ./values-schema/gen -check`. corpus/valid holds values files every
// Helm 3 release must accept, corpus/invalid files each must refuse, each
// naming the violation it expects on its first line:
//
//	# want: replicaCount: must be >= 1
//
// The tests of this package run the corpus through both schema libraries
// Helm has used (see internal/hacheck/schema) and through Helm itself.
//
// It holds no validation logic of its own: that is internal/hacheck/schema.
package valuesschema
