package image

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestManifestDigestIsTheIndexEntry: the digest computed in memory for one
// binary is the one Build lists for its platform in the index.
func TestManifestDigestIsTheIndexEntry(t *testing.T) {
	bins := testBinaries(t)
	idx, err := Build(bins, testMetadata())
	require.NoError(t, err)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	require.Len(t, im.Manifests, len(bins))
	for i, b := range bins {
		t.Run(b.Platform.String(), func(t *testing.T) {
			got, err := ManifestDigest(b, testMetadata())
			require.NoError(t, err)
			assert.Equal(t, im.Manifests[i].Digest, got)
		})
	}
	_, err = ManifestDigest(bins[0], Metadata{})
	assert.ErrorContains(t, err, "--version", "metadata is validated")
}

func TestMetadataOfBuildInfo(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	cases := []struct {
		name     string
		bi       debug.BuildInfo
		want     Metadata
		platform Platform
		wantErr  string
	}{
		{
			name: "a VCS-stamped build: the commit's revision and time",
			bi: debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261201224500-3a1a3fa0b1c2+dirty"},
				Settings: settings("GOOS", "linux", "GOARCH", "arm64", "vcs.revision", "3a1a3fa0b1c2", "vcs.time", "2026-12-01T22:45:00Z")},
			want: Metadata{Version: "v0.0.0-20261201224500-3a1a3fa0b1c2+dirty", Revision: "3a1a3fa0b1c2",
				Source: DefaultSource, Licenses: DefaultLicenses, Created: time.Date(2026, 12, 1, 22, 45, 0, 0, time.UTC)},
			platform: Platform{"linux", "arm64"},
		},
		{
			name: "no VCS stamps: fixed values, never the clock",
			bi:   debug.BuildInfo{Settings: settings("GOOS", "linux", "GOARCH", "amd64", "-buildvcs", "false")},
			want: Metadata{Version: "(devel)", Revision: UnknownRevision,
				Source: DefaultSource, Licenses: DefaultLicenses, Created: time.Unix(0, 0).UTC()},
			platform: Platform{"linux", "amd64"},
		},
		{name: "no platform", bi: debug.BuildInfo{Path: "x"}, wantErr: "names no GOOS/GOARCH"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, p, err := metadataOf(&tc.bi)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, m)
			assert.Equal(t, tc.platform, p)
		})
	}
}

// TestBinaryDigest: a Go binary (the test binary itself) gets the digest of
// its image, the same on every call; a file that is not one gets an error.
func TestBinaryDigest(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	m, p, err := BinaryMetadata(exe)
	require.NoError(t, err)
	want, err := ManifestDigest(Binary{Platform: p, Path: exe}, m)
	require.NoError(t, err)

	for range 2 {
		got, err := BinaryDigest(exe)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}

	script := filepath.Join(t.TempDir(), "primus")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\nexec true\n"), 0o755))
	_, err = BinaryDigest(script)
	assert.ErrorContains(t, err, "build info")
	_, err = BinaryDigest(filepath.Join(t.TempDir(), "missing"))
	assert.Error(t, err)
}
