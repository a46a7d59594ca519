package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReplaceTable(t *testing.T) {
	const table = "| Key |\n|-----|\n"
	const want = "# Chart\n\n## Values\n\n" + startMarker + "\n\n" + table + "\n" + endMarker + "\n\nMore.\n"
	cases := []struct {
		name    string
		doc     string
		want    string
		wantErr string
	}{
		{
			name: "empty markers are filled",
			doc:  "# Chart\n\n## Values\n\n" + startMarker + "\n" + endMarker + "\n\nMore.\n",
			want: want,
		},
		{
			name: "old table is replaced",
			doc:  "# Chart\n\n## Values\n\n" + startMarker + "\n| old |\n" + endMarker + "\n\nMore.\n",
			want: want,
		},
		{
			name: "current table is unchanged",
			doc:  want,
			want: want,
		},
		{
			name:    "missing start marker",
			doc:     "text\n" + endMarker + "\n",
			wantErr: "want one " + startMarker + " marker, found 0",
		},
		{
			name:    "missing end marker",
			doc:     startMarker + "\n",
			wantErr: "want one " + endMarker + " marker, found 0",
		},
		{
			name:    "duplicated marker",
			doc:     startMarker + "\n" + endMarker + "\n" + startMarker + "\n",
			wantErr: "want one " + startMarker + " marker, found 2",
		},
		{
			name:    "markers in the wrong order",
			doc:     endMarker + "\n" + startMarker + "\n",
			wantErr: "comes before",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReplaceTable(tc.doc, table)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
