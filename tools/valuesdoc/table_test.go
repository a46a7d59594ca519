package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTable(t *testing.T) {
	cases := []struct {
		name string
		rows []Row
		want string
	}{
		{
			name: "no rows is the header",
			want: tableHeader,
		},
		{
			name: "one row per value",
			rows: []Row{
				{Key: "replicaCount", Type: "int", Default: "1", Description: "Replicas."},
				{Key: "affinity", Type: "object", Default: "{}", Description: "Affinity."},
			},
			want: tableHeader +
				"| replicaCount | int | `1` | Replicas. |\n" +
				"| affinity | object | `{}` | Affinity. |\n",
		},
		{
			name: "pipes are escaped, in code spans too",
			rows: []Row{{Key: "sep", Type: "string", Default: `"a|b"`, Description: "Either a | b."}},
			want: tableHeader + "| sep | string | `\"a\\|b\"` | Either a \\| b. |\n",
		},
		{
			name: "backticks in a default widen the fence",
			rows: []Row{{Key: "q", Type: "string", Default: "\"`x`\"", Description: "Quoted."}},
			want: tableHeader + "| q | string | `` \"`x`\" `` | Quoted. |\n",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Table(tc.rows))
		})
	}
}
