package image

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// cosign's signature layout (the tag-based scheme every cosign version
// verifies): the signatures of sha256:HEX live in an image tagged
// sha256-HEX.sig, one layer per signature, each layer the simple-signing
// payload and an annotation carrying the base64 signature.
const (
	// SimpleSigningMediaType is the media type of a signature layer.
	SimpleSigningMediaType types.MediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// SignatureAnnotation holds a layer's base64 signature.
	SignatureAnnotation = "dev.cosignproject.cosign/signature"
)

// SignatureTag is the tag of the signatures of digest d in its repository.
func SignatureTag(d name.Digest) name.Tag {
	return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".sig")
}

// LoadSigner reads an unencrypted PEM private key (PKCS#8, EC or PKCS#1;
// ECDSA P-256 is what cosign generates) from path.
func LoadSigner(path string) (signature.Signer, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--sign-key: %w", err)
	}
	priv, err := cryptoutils.UnmarshalPEMToPrivateKey(raw, cryptoutils.SkipPassword)
	if err != nil {
		return nil, fmt.Errorf("--sign-key %s: %w", path, err)
	}
	s, err := signature.LoadSigner(priv, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("--sign-key %s: %w", path, err)
	}
	return s, nil
}

// LoadVerifier reads a PEM public key from path.
func LoadVerifier(path string) (signature.Verifier, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--key: %w", err)
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(raw)
	if err != nil {
		return nil, fmt.Errorf("--key %s: %w", path, err)
	}
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("--key %s: %w", path, err)
	}
	return v, nil
}

// Sign signs the manifest d with s in cosign's simple-signing format and
// pushes the signature to SignatureTag(d), keeping signatures already
// there. It returns the signature image's digest.
func Sign(ctx context.Context, d name.Digest, s signature.Signer, opts ...remote.Option) (v1.Hash, error) {
	body, err := json.Marshal(payload.Cosign{Image: d})
	if err != nil {
		return v1.Hash{}, err
	}
	sig, err := s.SignMessage(bytes.NewReader(body))
	if err != nil {
		return v1.Hash{}, fmt.Errorf("sign %s: %w", d, err)
	}
	opts = append(opts, remote.WithContext(ctx))
	tag := SignatureTag(d)
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	if prev, err := remote.Image(tag, opts...); err == nil {
		base = prev
	}
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:       static.NewLayer(body, SimpleSigningMediaType),
		Annotations: map[string]string{SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)},
	})
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.Write(tag, img, opts...); err != nil {
		return v1.Hash{}, fmt.Errorf("push signature of %s: %w", d, err)
	}
	return img.Digest()
}

// Verify checks that SignatureTag(d) holds a signature by v whose payload
// names d (the manifest digest and the repository). It returns the number
// of valid signatures, and an error if there is none.
func Verify(ctx context.Context, d name.Digest, v signature.Verifier, opts ...remote.Option) (int, error) {
	opts = append(opts, remote.WithContext(ctx))
	img, err := remote.Image(SignatureTag(d), opts...)
	if err != nil {
		return 0, fmt.Errorf("verify %s: no signatures: %w", d, err)
	}
	mf, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	valid := 0
	var last error
	for _, desc := range mf.Layers {
		if err := verifyLayer(img, desc, d, v); err != nil {
			last = err
			continue
		}
		valid++
	}
	if valid == 0 {
		if last == nil {
			last = fmt.Errorf("the signature image is empty")
		}
		return 0, fmt.Errorf("verify %s: no valid signature: %w", d, last)
	}
	return valid, nil
}

func verifyLayer(img v1.Image, desc v1.Descriptor, d name.Digest, v signature.Verifier) error {
	if desc.MediaType != SimpleSigningMediaType {
		return fmt.Errorf("layer %s: media type %s", desc.Digest, desc.MediaType)
	}
	sig, err := base64.StdEncoding.DecodeString(desc.Annotations[SignatureAnnotation])
	if err != nil || len(sig) == 0 {
		return fmt.Errorf("layer %s: no signature annotation", desc.Digest)
	}
	layer, err := img.LayerByDigest(desc.Digest)
	if err != nil {
		return err
	}
	rc, err := layer.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(rc); err != nil {
		return err
	}
	if err := v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(buf.Bytes())); err != nil {
		return fmt.Errorf("layer %s: %w", desc.Digest, err)
	}
	var p payload.SimpleContainerImage
	if err := json.Unmarshal(buf.Bytes(), &p); err != nil {
		return fmt.Errorf("layer %s: payload: %w", desc.Digest, err)
	}
	if p.Critical.Type != payload.CosignSignatureType {
		return fmt.Errorf("layer %s: payload type %q", desc.Digest, p.Critical.Type)
	}
	if p.Critical.Image.DockerManifestDigest != d.DigestStr() {
		return fmt.Errorf("layer %s: signs %s, not %s", desc.Digest, p.Critical.Image.DockerManifestDigest, d.DigestStr())
	}
	if p.Critical.Identity.DockerReference != d.Context().Name() {
		return fmt.Errorf("layer %s: signs repository %s, not %s", desc.Digest, p.Critical.Identity.DockerReference, d.Context().Name())
	}
	return nil
}
