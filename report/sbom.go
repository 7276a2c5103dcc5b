package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/signetproject/signet/oci"
)

// SBOM is one verified SBOM attestation (SPDX or CycloneDX JSON).
type SBOM struct {
	// Format is "SPDX-2.3", "CycloneDX-1.5"…: the document's own version.
	Format string `json:"format"`
	// Name is the document's name (SPDX) or main component (CycloneDX).
	Name string `json:"name,omitempty"`
	// Packages is the number of packages (SPDX) or components (CycloneDX).
	Packages int `json:"packages"`
	// Matches are the packages matching the report's package query.
	Matches  []Package `json:"matches,omitempty"`
	SignedBy Signer    `json:"signedBy"`
	Error    string    `json:"error,omitempty"`
}

// Package is a package listed in an SBOM.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// Group is a CycloneDX component's group (a Maven groupId…).
	Group string `json:"group,omitempty"`
	PURL  string `json:"purl,omitempty"`
}

// spdxDocument is the part of an SPDX 2.x JSON document read.
type spdxDocument struct {
	SPDXVersion string `json:"spdxVersion"`
	Name        string `json:"name"`
	Packages    []struct {
		Name         string `json:"name"`
		VersionInfo  string `json:"versionInfo"`
		ExternalRefs []struct {
			ReferenceType    string `json:"referenceType"`
			ReferenceLocator string `json:"referenceLocator"`
		} `json:"externalRefs"`
	} `json:"packages"`
}

// cdxComponent is a CycloneDX component, with its nested components.
type cdxComponent struct {
	Group      string         `json:"group"`
	Name       string         `json:"name"`
	Version    string         `json:"version"`
	PURL       string         `json:"purl"`
	Components []cdxComponent `json:"components"`
}

// cdxDocument is the part of a CycloneDX JSON BOM read.
type cdxDocument struct {
	BOMFormat   string `json:"bomFormat"`
	SpecVersion string `json:"specVersion"`
	Metadata    struct {
		Component *cdxComponent `json:"component"`
	} `json:"metadata"`
	Components []cdxComponent `json:"components"`
}

// maxComponentDepth bounds the nesting of CycloneDX components read.
const maxComponentDepth = 32

// readSBOM reads a verified SBOM predicate.
func readSBOM(predicateType string, predicate []byte, s Signer) (SBOM, []Package) {
	sb := SBOM{SignedBy: s}
	pkgs, err := parseSBOM(predicateType, predicate, &sb)
	if err != nil {
		sb.Error = err.Error()
		return sb, nil
	}
	sb.Packages = len(pkgs)
	return sb, pkgs
}

func parseSBOM(predicateType string, predicate []byte, sb *SBOM) ([]Package, error) {
	switch predicateType {
	case oci.PredicateSPDX:
		var doc spdxDocument
		if err := json.Unmarshal(predicate, &doc); err != nil {
			return nil, fmt.Errorf("SPDX document: %w", err)
		}
		if !strings.HasPrefix(doc.SPDXVersion, "SPDX-2.") {
			return nil, fmt.Errorf("SPDX document: spdxVersion %q, want SPDX-2.x JSON", doc.SPDXVersion)
		}
		sb.Format, sb.Name = doc.SPDXVersion, doc.Name
		pkgs := make([]Package, 0, len(doc.Packages))
		for _, p := range doc.Packages {
			pkg := Package{Name: p.Name, Version: p.VersionInfo}
			for _, r := range p.ExternalRefs {
				if r.ReferenceType == "purl" {
					pkg.PURL = r.ReferenceLocator
					break
				}
			}
			pkgs = append(pkgs, pkg)
		}
		return pkgs, nil
	case oci.PredicateCycloneDX:
		var doc cdxDocument
		if err := json.Unmarshal(predicate, &doc); err != nil {
			return nil, fmt.Errorf("CycloneDX BOM: %w", err)
		}
		if doc.BOMFormat != "CycloneDX" || doc.SpecVersion == "" {
			return nil, fmt.Errorf("CycloneDX BOM: bomFormat %q specVersion %q, want CycloneDX JSON", doc.BOMFormat, doc.SpecVersion)
		}
		sb.Format = "CycloneDX-" + doc.SpecVersion
		if c := doc.Metadata.Component; c != nil {
			sb.Name = c.Name
		}
		var pkgs []Package
		if err := flatten(doc.Components, 0, &pkgs); err != nil {
			return nil, err
		}
		return pkgs, nil
	}
	return nil, errors.New("not an SBOM predicate type")
}

func flatten(cs []cdxComponent, depth int, out *[]Package) error {
	if depth > maxComponentDepth {
		return fmt.Errorf("CycloneDX BOM: components nested deeper than %d", maxComponentDepth)
	}
	for _, c := range cs {
		*out = append(*out, Package{Name: c.Name, Version: c.Version, Group: c.Group, PURL: c.PURL})
		if err := flatten(c.Components, depth+1, out); err != nil {
			return err
		}
	}
	return nil
}

// PackageQuery asks which images contain a package: NAME or NAME@VERSION.
type PackageQuery struct {
	Name, Version string
}

// ParsePackageQuery parses NAME[@VERSION].
func ParsePackageQuery(s string) (*PackageQuery, error) {
	name, version, _ := strings.Cut(strings.TrimSpace(s), "@")
	if name == "" {
		return nil, fmt.Errorf("package query %q: want NAME or NAME@VERSION", s)
	}
	if strings.ContainsAny(name, " \t\n") {
		return nil, fmt.Errorf("package query %q: the name has white space", s)
	}
	return &PackageQuery{Name: name, Version: version}, nil
}

func (q *PackageQuery) String() string {
	if q.Version == "" {
		return q.Name
	}
	return q.Name + "@" + q.Version
}

// Match returns the packages the query names. A package matches when its
// name equals the query's (ignoring case): the package name, its last
// ":" or "/" separated part ("org.example:log4j-core" matches
// "log4j-core"), or the name in its package URL; and, when the query has
// a version, the version is equal.
func (q *PackageQuery) Match(pkgs []Package) []Package {
	var out []Package
	for _, p := range pkgs {
		if q.Version != "" && p.Version != q.Version && purlVersion(p.PURL) != q.Version {
			continue
		}
		if !slices.ContainsFunc(packageNames(p), func(n string) bool { return strings.EqualFold(n, q.Name) }) {
			continue
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func packageNames(p Package) []string {
	names := []string{p.Name}
	if i := strings.LastIndexAny(p.Name, ":/"); i >= 0 {
		names = append(names, p.Name[i+1:])
	}
	if n := purlName(p.PURL); n != "" {
		names = append(names, n)
	}
	return names
}

// purlName and purlVersion read "pkg:type/namespace/name@version?…#…".
func purlName(purl string) string {
	rest, ok := strings.CutPrefix(purl, "pkg:")
	if !ok {
		return ""
	}
	rest, _, _ = strings.Cut(rest, "#")
	rest, _, _ = strings.Cut(rest, "?")
	rest, _, _ = strings.Cut(rest, "@")
	name := rest[strings.LastIndex(rest, "/")+1:]
	if n, err := url.PathUnescape(name); err == nil {
		return n
	}
	return name
}

func purlVersion(purl string) string {
	rest, ok := strings.CutPrefix(purl, "pkg:")
	if !ok {
		return ""
	}
	rest, _, _ = strings.Cut(rest, "#")
	rest, _, _ = strings.Cut(rest, "?")
	_, v, _ := strings.Cut(rest, "@")
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}

// PackageAnswer is the answer to a package query: every image whose
// verified SBOMs list the package, and the pods running it.
type PackageAnswer struct {
	Query   string         `json:"query"`
	Matches []PackageMatch `json:"matches"`
}

// PackageMatch is one image containing the package.
type PackageMatch struct {
	Image    string    `json:"image"`
	Packages []Package `json:"packages"`
	Pods     []Pod     `json:"pods,omitempty"`
}

func (a *PackageAnswer) add(img *Image, p Package) {
	for i := range a.Matches {
		if a.Matches[i].Image == img.Image {
			if !slices.Contains(a.Matches[i].Packages, p) {
				a.Matches[i].Packages = append(a.Matches[i].Packages, p)
			}
			return
		}
	}
	a.Matches = append(a.Matches, PackageMatch{Image: img.Image, Packages: []Package{p}, Pods: img.Pods})
}
