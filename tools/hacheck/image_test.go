package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/primus-dev/primus/internal/hacheck/render"
)

// workflow is the part of a GitHub Actions workflow the test reads.
type workflow struct {
	Jobs map[string]struct {
		Steps []struct {
			Name string `json:"name"`
			Run  string `json:"run"`
		} `json:"steps"`
	} `json:"jobs"`
}

// releasePublishArgs returns the arguments ci/release.yaml passes to
// `hacheck image publish`, with line continuations joined, quotes removed
// and shell variables left as they are.
func releasePublishArgs(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "ci", "release.yaml"))
	require.NoError(t, err)
	var wf workflow
	require.NoError(t, yaml.Unmarshal(raw, &wf))
	var found []string
	for _, job := range wf.Jobs {
		for _, step := range job.Steps {
			script := strings.ReplaceAll(step.Run, "\\\n", " ")
			for _, line := range strings.Split(script, "\n") {
				_, rest, ok := strings.Cut(line, "hacheck image publish")
				if !ok {
					continue
				}
				rest, _, _ = strings.Cut(rest, "|")
				for _, f := range strings.Fields(rest) {
					found = append(found, strings.Trim(f, `"'`))
				}
			}
		}
	}
	require.NotEmpty(t, found, "ci/release.yaml runs hacheck image publish")
	return found
}

// TestReleasePushesChartDefaultImage parses the release workflow's
// `hacheck image publish` flags with the command's own flag set and checks
// that the tag they resolve to is the image the chart installs by default.
func TestReleasePushesChartDefaultImage(t *testing.T) {
	var f imageFlags
	fs := pflag.NewFlagSet("publish", pflag.ContinueOnError)
	f.register(fs)
	require.NoError(t, fs.Parse(releasePublishArgs(t)))
	assert.False(t, f.plainHTTP, "the release talks TLS to the registry")
	assert.NotEmpty(t, f.signKey, "the release signs")
	// The workflow runs from the repository root.
	f.chart = filepath.Join("..", "..", f.chart)
	ref, err := f.reference()
	require.NoError(t, err)

	res, err := render.Render(render.Options{Chart: chart})
	require.NoError(t, err)
	deps := render.Find(res.Objects, "Deployment")
	require.Len(t, deps, 1)
	var dep appsv1.Deployment
	require.NoError(t, deps[0].Into(&dep))
	require.Len(t, dep.Spec.Template.Spec.Containers, 1)
	assert.Equal(t, dep.Spec.Template.Spec.Containers[0].Image, ref.String())
	assert.Equal(t, "ghcr.io/primus-dev/primus", ref.Context().Name())
}

func TestImageUsageErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"bad platform", []string{"image", "publish", "--platform", "linux", "--revision", "abc", "--created", "0", "--chart", chart}, "--platform"},
		{"bad timestamp", []string{"image", "publish", "--revision", "abc", "--created", "yesterday", "--chart", chart}, "--created"},
		{"bad repository", []string{"image", "publish", "--repository", "Not A Repo", "--chart", chart}, "--repository"},
		{"missing chart", []string{"image", "publish", "--chart", "does-not-exist"}, "--chart"},
		{"missing key file", []string{"image", "publish", "--revision", "abc", "--created", "0", "--chart", chart, "--sign-key", "no-such.pem"}, "--sign-key"},
		{"username without password", []string{"image", "publish", "--revision", "abc", "--created", "0", "--chart", chart, "--username", "me"}, "--password-stdin"},
		{"verify without key", []string{"image", "verify", "example.com/primus@sha256:" + strings.Repeat("0", 64)}, "--key"},
		{"verify a tag", []string{"image", "verify", "example.com/primus:1.0", "--key", "k.pub"}, "REPOSITORY@sha256:DIGEST"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := hacheck(tc.args...)
			assert.Equal(t, exitUsage, code, "stderr: %s", stderr)
			assert.Contains(t, stderr, tc.want)
			assert.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "one line: %q", stderr)
		})
	}
}
