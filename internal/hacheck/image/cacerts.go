package image

import (
	"bytes"
	"encoding/pem"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// CACertificatesPath is where the image carries its CA bundle: the first
// place Go's crypto/x509 looks on Linux.
const CACertificatesPath = "etc/ssl/certs/ca-certificates.crt"

// CABundle returns the PEM CA bundle the image carries: the Mozilla roots of
// golang.org/x/crypto/x509roots/fallback, a module pinned in go.mod, so the
// bundle is the same on every build machine and changes only with a go.mod
// change (reviewed, and reported by govulncheck when stale). Roots the
// bundle only trusts with a constraint (such as a distrust date) are left
// out, since a PEM file cannot carry the constraint.
func CABundle() []byte {
	var buf bytes.Buffer
	for root := range bundle.Roots() {
		if root.Constraint != nil {
			continue
		}
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate})
	}
	return buf.Bytes()
}
