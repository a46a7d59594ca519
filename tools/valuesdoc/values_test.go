package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name   string
		values string
		want   []Row
	}{
		{
			name: "scalars of each kind",
			values: `# -- Replicas.
replicaCount: 1
# -- Policy.
policy: soft
# -- On.
enabled: true
# -- Ratio.
ratio: 0.5
# -- Hex.
mode: 0x10
`,
			want: []Row{
				{Key: "replicaCount", Type: "int", Default: "1", Description: "Replicas."},
				{Key: "policy", Type: "string", Default: `"soft"`, Description: "Policy."},
				{Key: "enabled", Type: "bool", Default: "true", Description: "On."},
				{Key: "ratio", Type: "float", Default: "0.5", Description: "Ratio."},
				{Key: "mode", Type: "int", Default: "16", Description: "Hex."},
			},
		},
		{
			name: "nested keys get dotted paths",
			values: `leaderElection:
  # -- Elect a leader.
  enabled: true
  timing:
    # -- Lease validity.
    leaseDuration: 15s
`,
			want: []Row{
				{Key: "leaderElection.enabled", Type: "bool", Default: "true", Description: "Elect a leader."},
				{Key: "leaderElection.timing.leaseDuration", Type: "string", Default: `"15s"`, Description: "Lease validity."},
			},
		},
		{
			name: "multi-line comment joins into one line",
			values: `# -- How long the leader retries
#    to renew.
#
# Must be shorter than leaseDuration.
renewDeadline: 10s
`,
			want: []Row{
				{Key: "renewDeadline", Type: "string", Default: `"10s"`, Description: "How long the leader retries to renew. Must be shorter than leaseDuration."},
			},
		},
		{
			name: "lines above the -- line are not the description",
			values: `# Default values for a chart.
# A header that touches the first key.
# -- Replicas.
replicaCount: 1
`,
			want: []Row{
				{Key: "replicaCount", Type: "int", Default: "1", Description: "Replicas."},
			},
		},
		{
			name: "documented map is one row with the map as default",
			values: `# -- Pod security context.
podSecurityContext:
  runAsNonRoot: true
  runAsUser: 65532
  # -- ignored: the map is documented as a whole
  seccompProfile:
    type: RuntimeDefault
`,
			want: []Row{{
				Key:         "podSecurityContext",
				Type:        "object",
				Default:     `{"runAsNonRoot":true,"runAsUser":65532,"seccompProfile":{"type":"RuntimeDefault"}}`,
				Description: "Pod security context.",
			}},
		},
		{
			name: "empty map and list, compact list",
			values: `# -- Node selector.
nodeSelector: {}
# -- Tolerations.
tolerations: []
# -- Args.
extraArgs:
  - --v=2
  - name: x
`,
			want: []Row{
				{Key: "nodeSelector", Type: "object", Default: "{}", Description: "Node selector."},
				{Key: "tolerations", Type: "list", Default: "[]", Description: "Tolerations."},
				{Key: "extraArgs", Type: "list", Default: `["--v=2",{"name":"x"}]`, Description: "Args."},
			},
		},
		{
			name: "null default",
			values: `pdb:
  # -- Pods that may be down at once (integer or percentage).
  maxUnavailable: null
  # -- Priority class.
  priorityClassName:
  # -- (int or string) Explicit type, helm-docs style.
  minAvailable: ~
`,
			want: []Row{
				{Key: "pdb.maxUnavailable", Type: "int or string", Default: "null", Description: "Pods that may be down at once (integer or percentage)."},
				{Key: "pdb.priorityClassName", Type: "null", Default: "null", Description: "Priority class."},
				{Key: "pdb.minAvailable", Type: "int or string", Default: "null", Description: "Explicit type, helm-docs style."},
			},
		},
		{
			name: "strings are not HTML-escaped and keep their order",
			values: `# -- Lease name. Defaults to ` + "`<fullname>-leader`" + `.
leaseName: "<fullname>-leader"
# -- Labels.
labels:
  z: "1"
  a: b&c
`,
			want: []Row{
				{Key: "leaseName", Type: "string", Default: `"<fullname>-leader"`, Description: "Lease name. Defaults to `<fullname>-leader`."},
				{Key: "labels", Type: "object", Default: `{"z":"1","a":"b&c"}`, Description: "Labels."},
			},
		},
		{
			name: "alias default shows the anchored value",
			values: `# -- Base.
base: &b {cpu: 50m}
# -- Copy.
copy: *b
`,
			want: []Row{
				{Key: "base", Type: "object", Default: `{"cpu":"50m"}`, Description: "Base."},
				{Key: "copy", Type: "object", Default: `{"cpu":"50m"}`, Description: "Copy."},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.values))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseUndocumented(t *testing.T) {
	cases := []struct {
		name   string
		values string
		keys   []string
	}{
		{
			name:   "plain comment is not documentation",
			values: "# Replicas.\nreplicaCount: 1\n",
			keys:   []string{"replicaCount"},
		},
		{
			name:   "nested key names its path",
			values: "image:\n  # -- Repository.\n  repository: x\n  tag: \"\"\n",
			keys:   []string{"image.tag"},
		},
		{
			name:   "map without documented children",
			values: "# -- Replicas.\nreplicaCount: 1\nservice:\n  type: ClusterIP\n  port: 443\n",
			keys:   []string{"service.type", "service.port"},
		},
		{
			name:   "empty map without a comment",
			values: "# -- Replicas.\nreplicaCount: 1\nglobal: {}\n",
			keys:   []string{"global"},
		},
		{
			name:   "list without a comment",
			values: "tolerations:\n  # -- An item is not a key.\n  - key: a\n",
			keys:   []string{"tolerations"},
		},
		{
			name:   "blank line detaches the comment",
			values: "# -- Replicas.\n\nreplicaCount: 1\n",
			keys:   []string{"replicaCount"},
		},
		{
			name:   "empty -- comment",
			values: "# --\nreplicaCount: 1\n",
			keys:   []string{"replicaCount"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.values))
			var ue *UndocumentedError
			require.ErrorAs(t, err, &ue)
			assert.Equal(t, tc.keys, ue.Keys)
			for _, k := range tc.keys {
				assert.Contains(t, err.Error(), k)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	cases := []struct {
		name   string
		values string
	}{
		{name: "empty", values: ""},
		{name: "only comments", values: "# -- nothing\n"},
		{name: "top level list", values: "- a\n"},
		{name: "bad yaml", values: "a: [\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.values))
			require.Error(t, err)
		})
	}
}
