// Package fulcio reads the Fulcio certificate profile: the identity (SAN
// and OIDC issuer) and the build claims a Fulcio-compatible CA (such as
// signet's ca package) writes into a signing certificate.
package fulcio

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"
)

// Certificate summarises a Fulcio signing certificate: who signed (SAN and
// OIDC issuer) and the build claims Fulcio copied from the token.
type Certificate struct {
	// SAN is the first URI, else the first email, else the Sigstore
	// otherName (1.3.6.1.4.1.57264.1.7) of the certificate.
	SAN string
	// Issuer is the OIDC issuer: extension 1.3.6.1.4.1.57264.1.8, falling
	// back to the legacy 1.3.6.1.4.1.57264.1.1.
	Issuer string
	// CertificateIssuer is the issuing CA's distinguished name.
	CertificateIssuer string
	NotBefore         time.Time
	NotAfter          time.Time

	// Legacy GitHub workflow claims, raw strings (OIDs .1.2 to .1.6).
	GitHubWorkflowTrigger    string
	GitHubWorkflowSHA        string
	GitHubWorkflowName       string
	GitHubWorkflowRepository string
	GitHubWorkflowRef        string

	// Build claims, DER UTF8Strings (OIDs .1.9 to .1.22).
	BuildSignerURI                      string
	BuildSignerDigest                   string
	RunnerEnvironment                   string
	SourceRepositoryURI                 string
	SourceRepositoryDigest              string
	SourceRepositoryRef                 string
	SourceRepositoryIdentifier          string
	SourceRepositoryOwnerURI            string
	SourceRepositoryOwnerIdentifier     string
	BuildConfigURI                      string
	BuildConfigDigest                   string
	BuildTrigger                        string
	RunInvocationURI                    string
	SourceRepositoryVisibilityAtSigning string
}

var (
	oidSAN       = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidFulcio    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1}
	oidOtherName = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 7}
)

// Summarize extracts the identity and build claims of a Fulcio
// certificate. It fails when the certificate has no SAN or a malformed
// Fulcio extension.
func Summarize(cert *x509.Certificate) (*Certificate, error) {
	c := &Certificate{
		CertificateIssuer: cert.Issuer.String(),
		NotBefore:         cert.NotBefore,
		NotAfter:          cert.NotAfter,
	}
	var legacyIssuer string
	raw := map[int]*string{
		2: &c.GitHubWorkflowTrigger, 3: &c.GitHubWorkflowSHA, 4: &c.GitHubWorkflowName,
		5: &c.GitHubWorkflowRepository, 6: &c.GitHubWorkflowRef, 1: &legacyIssuer,
	}
	der := map[int]*string{
		8: &c.Issuer, 9: &c.BuildSignerURI, 10: &c.BuildSignerDigest, 11: &c.RunnerEnvironment,
		12: &c.SourceRepositoryURI, 13: &c.SourceRepositoryDigest, 14: &c.SourceRepositoryRef,
		15: &c.SourceRepositoryIdentifier, 16: &c.SourceRepositoryOwnerURI,
		17: &c.SourceRepositoryOwnerIdentifier, 18: &c.BuildConfigURI, 19: &c.BuildConfigDigest,
		20: &c.BuildTrigger, 21: &c.RunInvocationURI, 22: &c.SourceRepositoryVisibilityAtSigning,
	}
	for _, ext := range cert.Extensions {
		id := ext.Id
		if len(id) != len(oidFulcio)+1 || !id[:len(oidFulcio)].Equal(oidFulcio) {
			continue
		}
		n := id[len(oidFulcio)]
		if p, ok := raw[n]; ok {
			*p = string(ext.Value)
		}
		if p, ok := der[n]; ok {
			rest, err := asn1.Unmarshal(ext.Value, p)
			if err != nil {
				return nil, fmt.Errorf("extension %s: %w", id, err)
			}
			if len(rest) != 0 {
				return nil, fmt.Errorf("extension %s: trailing data", id)
			}
		}
	}
	if c.Issuer == "" {
		c.Issuer = legacyIssuer
	}
	switch {
	case len(cert.URIs) > 0:
		c.SAN = cert.URIs[0].String()
	case len(cert.EmailAddresses) > 0:
		c.SAN = cert.EmailAddresses[0]
	default:
		c.SAN = OtherNameSAN(cert)
	}
	if c.SAN == "" {
		return nil, errors.New("certificate has no subject alternative name")
	}
	return c, nil
}

// OtherNameSAN returns the Sigstore otherName SAN: the single otherName
// in the SAN extension, a UTF8String under 1.3.6.1.4.1.57264.1.7. It
// returns "" when there is none, more than one, or another kind.
func OtherNameSAN(cert *x509.Certificate) string {
	var found []string
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(oidSAN) {
			continue
		}
		var seq asn1.RawValue
		if rest, err := asn1.Unmarshal(ext.Value, &seq); err != nil || len(rest) != 0 ||
			!seq.IsCompound || seq.Tag != asn1.TagSequence || seq.Class != asn1.ClassUniversal {
			return ""
		}
		for rest := seq.Bytes; len(rest) > 0; {
			var gn asn1.RawValue
			var err error
			if rest, err = asn1.Unmarshal(rest, &gn); err != nil {
				return ""
			}
			if gn.Tag != 0 { // only otherName is [0]
				continue
			}
			var on struct {
				ID    asn1.ObjectIdentifier
				Value string `asn1:"utf8,explicit,tag:0"`
			}
			if _, err := asn1.UnmarshalWithParams(gn.FullBytes, &on, "tag:0"); err != nil || !on.ID.Equal(oidOtherName) {
				return ""
			}
			found = append(found, on.Value)
		}
	}
	if len(found) != 1 {
		return ""
	}
	return found[0]
}
