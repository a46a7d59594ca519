// Package image builds, signs and publishes the Primus platform image
// without a Docker engine: the static cmd/primus binary, cross-compiled for
// each platform, goes onto an empty base (scratch) with go-containerregistry,
// next to a CA bundle, as one OCI image index with the OCI annotations, fixed
// timestamps (the same commit gives the same digest), an SPDX SBOM generated
// from the binaries' Go build info attached as an OCI referrer, and
// cosign-compatible signatures made with sigstore's signature package.
//
// The release workflow (`hacheck image`) and the tests (tests/image) call
// [Publish] with the same [Options]; only the registry and the key differ.
//
// It is not a general image builder: it knows one binary, one layer and an
// empty base, and it does not do keyless (Fulcio/Rekor) signing.
package image
