package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/internal/hacheck/render"
)

// TestRenderNamespace renders the chart as a user and as the helm plugin
// would run it: -n wins, then $HELM_NAMESPACE (what `helm -n NS hacheck`
// passes), then the verb's default.
func TestRenderNamespace(t *testing.T) {
	tests := []struct {
		name   string
		helmNS string
		args   []string
		wantNS string
	}{
		{name: "verb default", wantNS: render.DefaultNamespace},
		{name: "helm plugin", helmNS: "ops", wantNS: "ops"},
		{name: "flag beats helm", helmNS: "ops", args: []string{"-n", "team-a"}, wantNS: "team-a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(helmNamespaceEnv, tc.helmNS)
			code, stdout, stderr := hacheck(append([]string{"render", chart}, tc.args...)...)
			require.Equal(t, 0, code, stderr)
			objs, err := render.Decode(stdout)
			require.NoError(t, err)
			deployments := render.Find(objs, "Deployment")
			require.Len(t, deployments, 1)
			assert.Equal(t, tc.wantNS, deployments[0].GetNamespace())
		})
	}
}

// TestNamespaceDefaultsInHelp checks each verb's --help states the
// namespace it really uses when -n is not given.
func TestNamespaceDefaultsInHelp(t *testing.T) {
	tests := []struct {
		verb   string
		helmNS string
		want   string
	}{
		{verb: "render", want: render.DefaultNamespace},
		{verb: "check", want: render.DefaultNamespace},
		{verb: "verify", want: verifyNamespace},
		{verb: "failover", want: "primus-failover"},
		{verb: "verify", helmNS: "ops", want: "ops"},
	}
	for _, tc := range tests {
		t.Run(tc.verb+" "+tc.helmNS, func(t *testing.T) {
			t.Setenv(helmNamespaceEnv, tc.helmNS)
			var line string
			for _, l := range helpSection(t, "Flags:", tc.verb) {
				if strings.Contains(l, "--namespace") {
					line = l
				}
			}
			require.NotEmpty(t, line, "%s --help has no --namespace line", tc.verb)
			assert.Contains(t, line, `(default "`+tc.want+`")`)
		})
	}
}
