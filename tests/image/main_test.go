// Package image holds the platform image suite: the image index built from
// the real cmd/primus binaries by internal/hacheck/image's Publish (the code
// path `hacheck image publish` and the release workflow take), pushed to
// the embedded OCI registry with its SBOM and signed with a throwaway key,
// then pulled back by digest and checked: config, platforms, annotations,
// the binary runs, the signatures verify, the build is reproducible, and the
// chart renders the pushed digest.
package image

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/primus-dev/primus/internal/hacheck/image"
	"github.com/primus-dev/primus/internal/hacheck/render"
	"github.com/primus-dev/primus/internal/testharness/ociregistry"
)

// Shared by the tests: one registry, one publish.
var (
	reg       *ociregistry.Registry
	workDir   string
	opts      image.Options
	published *image.Result
	pubKey    string
	// publishTime is how long the first Publish took (both builds).
	publishTime time.Duration
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("image suite skipped in -short mode")
		os.Exit(0)
	}
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "image suite:", err)
		code = 1
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	ctx := context.Background()
	var err error
	if workDir, err = os.MkdirTemp("", "primus-image-suite-"); err != nil {
		return 1, err
	}
	defer os.RemoveAll(workDir)
	if reg, err = ociregistry.Start(ctx, ociregistry.Options{}); err != nil {
		return 1, err
	}
	defer reg.Close()
	key, pub, err := writeKeyPair(filepath.Join(workDir, "signing"))
	if err != nil {
		return 1, err
	}
	pubKey = pub
	if opts, err = publishOptions(key, "0.1.0"); err != nil {
		return 1, err
	}
	start := time.Now()
	if published, err = image.Publish(ctx, opts); err != nil {
		return 1, err
	}
	publishTime = time.Since(start)
	return m.Run(), nil
}

// publishOptions are what `hacheck image publish` resolves for a tag of
// the suite's registry, with fixed metadata.
func publishOptions(key, tag string) (image.Options, error) {
	ref, err := name.NewTag(reg.Host()+"/primus-dev/primus:"+tag, name.Insecure)
	if err != nil {
		return image.Options{}, err
	}
	signer, err := image.LoadSigner(key)
	if err != nil {
		return image.Options{}, err
	}
	return image.Options{
		Root:    repoRoot(),
		WorkDir: workDir,
		Metadata: image.Metadata{
			Version: tag, Revision: "0123456789abcdef0123456789abcdef01234567",
			Source: image.DefaultSource, Licenses: image.DefaultLicenses,
			Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		},
		Tag:    ref,
		Signer: signer,
	}, nil
}

// writeKeyPair writes a throwaway ECDSA P-256 key pair as PEM files.
func writeKeyPair(dir string) (priv, pub string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", "", err
	}
	priv, pub = filepath.Join(dir, "key.pem"), filepath.Join(dir, "key.pub")
	if err := os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return "", "", err
	}
	return priv, pub, os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644)
}

// repoRoot is the repository's root, found from this file.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// chartPath is charts/primus.
func chartPath() string { return filepath.Join(repoRoot(), "charts", "primus") }

// renderOpts renders the chart with set.
func renderOpts(set ...string) render.Options {
	return render.Options{Chart: chartPath(), Set: set}
}
