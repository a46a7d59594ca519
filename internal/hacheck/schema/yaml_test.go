package schema_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/internal/hacheck/schema"
)

func TestFromYAML(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    string
		wantErr string
	}{
		{
			name: "keys sorted, two-space indent, trailing newline",
			src:  "type: object\n$schema: x\nproperties:\n  b: {type: integer, minimum: 1}\n  a: {type: string}\n",
			want: "{\n  \"$schema\": \"x\",\n  \"properties\": {\n    \"a\": {\n      \"type\": \"string\"\n    },\n    \"b\": {\n      \"minimum\": 1,\n      \"type\": \"integer\"\n    }\n  },\n  \"type\": \"object\"\n}\n",
		},
		{
			name: "no HTML escaping, numbers kept",
			src:  "description: replicaCount > 1 & <b>\nmaximum: 65535\nmultipleOf: 0.5\n",
			want: "{\n  \"description\": \"replicaCount > 1 & <b>\",\n  \"maximum\": 65535,\n  \"multipleOf\": 0.5\n}\n",
		},
		{name: "not a mapping", src: "- a\n- b\n", wantErr: "not a mapping"},
		{name: "not YAML", src: "a: [\n", wantErr: "convert schema YAML to JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := schema.FromYAML([]byte(tc.src))
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(got))
		})
	}
}
