package image

import (
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"time"
)

// SBOMMediaType is the media type (and the referrer's artifact type) of the
// SBOM attached to the image.
const SBOMMediaType = "application/spdx+json"

// SPDXDocument is the part of an SPDX 2.3 JSON document the SBOM fills in.
type SPDXDocument struct {
	SPDXVersion       string             `json:"spdxVersion"`
	DataLicense       string             `json:"dataLicense"`
	SPDXID            string             `json:"SPDXID"`
	Name              string             `json:"name"`
	DocumentNamespace string             `json:"documentNamespace"`
	CreationInfo      SPDXCreationInfo   `json:"creationInfo"`
	DocumentDescribes []string           `json:"documentDescribes"`
	Packages          []SPDXPackage      `json:"packages"`
	Relationships     []SPDXRelationship `json:"relationships"`
}

// SPDXCreationInfo says who made the document and when.
type SPDXCreationInfo struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

// SPDXPackage is one Go module (or the Go standard library).
type SPDXPackage struct {
	SPDXID           string            `json:"SPDXID"`
	Name             string            `json:"name"`
	VersionInfo      string            `json:"versionInfo,omitempty"`
	DownloadLocation string            `json:"downloadLocation"`
	FilesAnalyzed    bool              `json:"filesAnalyzed"`
	LicenseConcluded string            `json:"licenseConcluded"`
	LicenseDeclared  string            `json:"licenseDeclared"`
	CopyrightText    string            `json:"copyrightText"`
	Comment          string            `json:"comment,omitempty"`
	ExternalRefs     []SPDXExternalRef `json:"externalRefs,omitempty"`
}

// SPDXExternalRef is a package URL.
type SPDXExternalRef struct {
	ReferenceCategory string `json:"referenceCategory"`
	ReferenceType     string `json:"referenceType"`
	ReferenceLocator  string `json:"referenceLocator"`
}

// SPDXRelationship relates two elements.
type SPDXRelationship struct {
	SPDXElementID      string `json:"spdxElementId"`
	RelationshipType   string `json:"relationshipType"`
	RelatedSPDXElement string `json:"relatedSpdxElement"`
}

// ReadBuildInfo reads the Go build info of the binary at path (what
// `go version -m` prints).
func ReadBuildInfo(path string) (*debug.BuildInfo, error) {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read build info of %s: %w", path, err)
	}
	return bi, nil
}

// SBOM returns the SPDX 2.3 JSON SBOM of the image: the main module, every
// module linked into any of the binaries and the Go standard library, from
// their build info. It is deterministic: the same binaries and metadata give
// the same bytes.
func SBOM(binaries []Binary, m Metadata) ([]byte, error) {
	type mod struct{ path, version, sum string }
	mods := map[string]mod{}
	var main mod
	var goVersion string
	var settings []string
	for _, b := range binaries {
		bi, err := ReadBuildInfo(b.Path)
		if err != nil {
			return nil, err
		}
		main = mod{path: bi.Main.Path, version: m.Version}
		goVersion = bi.GoVersion
		for _, d := range bi.Deps {
			if d.Replace != nil {
				d = d.Replace
			}
			mods[d.Path+"@"+d.Version] = mod{path: d.Path, version: d.Version, sum: d.Sum}
		}
		if settings == nil {
			for _, s := range bi.Settings {
				if s.Key == "GOOS" || s.Key == "GOARCH" {
					continue // differ per binary; the platforms are in the index
				}
				settings = append(settings, s.Key+"="+s.Value)
			}
		}
	}
	keys := make([]string, 0, len(mods))
	for k := range mods {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	mainID := "SPDXRef-Package-" + spdxID(main.path)
	doc := SPDXDocument{
		SPDXVersion: "SPDX-2.3",
		DataLicense: "CC0-1.0",
		SPDXID:      "SPDXRef-DOCUMENT",
		Name:        "primus-" + m.Version,
		CreationInfo: SPDXCreationInfo{
			Created:  m.Created.UTC().Format(time.RFC3339),
			Creators: []string{"Tool: hacheck-image", "Organization: primus-dev"},
		},
		DocumentDescribes: []string{mainID},
	}
	doc.Packages = append(doc.Packages, SPDXPackage{
		SPDXID: mainID, Name: main.path, VersionInfo: m.Version,
		DownloadLocation: "git+" + m.Source + "@" + m.Revision,
		LicenseConcluded: m.Licenses, LicenseDeclared: m.Licenses, CopyrightText: "NOASSERTION",
		Comment:      "built with " + goVersion + " " + strings.Join(settings, " "),
		ExternalRefs: []SPDXExternalRef{purl(main.path, m.Version)},
	})
	stdID := "SPDXRef-Package-stdlib"
	doc.Packages = append(doc.Packages, SPDXPackage{
		SPDXID: stdID, Name: "stdlib", VersionInfo: goVersion, DownloadLocation: "https://go.dev/dl/",
		LicenseConcluded: "NOASSERTION", LicenseDeclared: "NOASSERTION", CopyrightText: "NOASSERTION",
		ExternalRefs: []SPDXExternalRef{purl("stdlib", goVersion)},
	})
	doc.Relationships = append(doc.Relationships,
		SPDXRelationship{SPDXElementID: "SPDXRef-DOCUMENT", RelationshipType: "DESCRIBES", RelatedSPDXElement: mainID},
		SPDXRelationship{SPDXElementID: mainID, RelationshipType: "DEPENDS_ON", RelatedSPDXElement: stdID})
	for _, k := range keys {
		d := mods[k]
		id := "SPDXRef-Package-" + spdxID(d.path+"-"+d.version)
		p := SPDXPackage{
			SPDXID: id, Name: d.path, VersionInfo: d.version, DownloadLocation: "NOASSERTION",
			LicenseConcluded: "NOASSERTION", LicenseDeclared: "NOASSERTION", CopyrightText: "NOASSERTION",
			ExternalRefs: []SPDXExternalRef{purl(d.path, d.version)},
		}
		if d.sum != "" {
			p.Comment = "go.sum " + d.sum
		}
		doc.Packages = append(doc.Packages, p)
		doc.Relationships = append(doc.Relationships, SPDXRelationship{SPDXElementID: mainID, RelationshipType: "DEPENDS_ON", RelatedSPDXElement: id})
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	// The namespace must be unique per document; a hash of the content
	// keeps it deterministic.
	sum := sha256.Sum256(body)
	doc.DocumentNamespace = m.Source + "/spdx/primus-" + m.Version + "-" + hex.EncodeToString(sum[:8])
	return json.MarshalIndent(doc, "", "  ")
}

// purl is a Go module's package URL (pkg:golang/PATH@VERSION).
func purl(path, version string) SPDXExternalRef {
	return SPDXExternalRef{ReferenceCategory: "PACKAGE-MANAGER", ReferenceType: "purl", ReferenceLocator: "pkg:golang/" + path + "@" + version}
}

// spdxID turns s into the characters an SPDX id allows (letters, digits,
// '.' and '-').
func spdxID(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			return r
		}
		return '-'
	}, s)
}
