package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/internal/hacheck/action"
	"github.com/primus-dev/primus/internal/hacheck/image"
	"github.com/primus-dev/primus/internal/hacheck/replica"
	"github.com/primus-dev/primus/internal/hacheck/verify"
)

// TestVerifyReportsTheImageDigest runs the README's main job with -o json:
// every replica reports one digest, the digest of the image
// internal/hacheck/image builds from the binary verify runs (verify builds
// cmd/primus itself; the build is reproducible, so the one built here is
// the same bytes), and the image-digest check holds and names it.
func TestVerifyReportsTheImageDigest(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded cluster; skipped with -short")
	}
	bin, err := replica.Build(t.Context(), t.TempDir(), nil)
	require.NoError(t, err)
	want, err := image.BinaryDigest(bin)
	require.NoError(t, err)

	code, stdout, stderr := hacheck("verify", chart, "--set", "replicaCount=3", "-o", "json")
	require.Equal(t, 0, code, "stderr:\n%s\nstdout:\n%s", stderr, stdout)
	var res action.VerifyResult
	require.NoError(t, json.Unmarshal([]byte(stdout), &res), stdout)
	require.Len(t, res.Report.Pods, 3)
	for _, p := range res.Report.Pods {
		assert.Equal(t, want.String(), p.Digest, "pod %s on %s (imageID %q, %s)", p.Name, p.Node, p.ImageID, p.DigestReason)
		assert.Equal(t, "ghcr.io/primus-dev/primus@"+want.String(), p.ImageID, "imageID is the spec's repository @ the digest")
		assert.NotEmpty(t, p.Node)
		assert.Contains(t, p.Image, "ghcr.io/primus-dev/primus:")
	}
	var check *verify.Check
	for i, c := range res.Report.Checks {
		if c.ID == verify.CheckImageDigest {
			check = &res.Report.Checks[i]
		}
	}
	require.NotNil(t, check, "the report has the %s check", verify.CheckImageDigest)
	assert.True(t, check.Passed, check.Message)
	assert.Contains(t, check.Message, "3/3 Ready replicas run "+want.String())
}
