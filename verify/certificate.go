package verify

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/signetproject/signet/trustroot"
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

// SummarizeCertificate extracts the identity and build claims of a Fulcio
// certificate. It fails when the certificate has no SAN or a malformed
// Fulcio extension.
func SummarizeCertificate(cert *x509.Certificate) (*Certificate, error) {
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
		c.SAN = otherNameSAN(cert)
	}
	if c.SAN == "" {
		return nil, errors.New("certificate has no subject alternative name")
	}
	return c, nil
}

// otherNameSAN returns the Sigstore otherName SAN: the single otherName
// in the SAN extension, a UTF8String under 1.3.6.1.4.1.57264.1.7. It
// returns "" when there is none, more than one, or another kind.
func otherNameSAN(cert *x509.Certificate) string {
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

// caVerifier holds the certificate pools of one trusted CA, built once.
type caVerifier struct {
	ca            *trustroot.CertificateAuthority
	roots         *x509.CertPool
	intermediates *x509.CertPool
}

func newCAVerifier(ca *trustroot.CertificateAuthority) *caVerifier {
	v := &caVerifier{ca: ca, roots: x509.NewCertPool(), intermediates: x509.NewCertPool()}
	v.roots.AddCert(ca.Root)
	for _, c := range ca.Intermediates {
		v.intermediates.AddCert(c)
	}
	return v
}

// verifyChain checks that cert chains to one trusted CA at every verified
// time, and returns the chain found at the last of them.
func (v *Verifier) verifyChain(cert *x509.Certificate, times []Timestamp) ([]*x509.Certificate, error) {
	// Go does not know the Sigstore otherName SAN; a critical SAN holding
	// only one is ours to handle.
	leaf := cert
	if len(cert.UnhandledCriticalExtensions) > 0 {
		cp := *cert
		cp.UnhandledCriticalExtensions = nil
		for _, oid := range cert.UnhandledCriticalExtensions {
			if !oid.Equal(oidSAN) {
				cp.UnhandledCriticalExtensions = append(cp.UnhandledCriticalExtensions, oid)
			}
		}
		leaf = &cp
	}
	var chain []*x509.Certificate
	for _, ts := range times {
		var err error
		if chain, err = v.cachedChainAt(leaf, ts.Time); err != nil {
			return nil, fail(CheckCertificate, "at %s time %s: %w", ts.Kind, ts.Time.UTC().Format(time.RFC3339), err)
		}
	}
	return chain, nil
}

// chainKey identifies a chain verification: which certificate, when.
type chainKey struct {
	leaf [sha256.Size]byte
	at   int64
}

// maxCachedChains bounds the chain cache; it is emptied when full.
const maxCachedChains = 4096

// cachedChainAt memoizes chainAt. Chain verification is a pure function
// of the certificate, the time and the (immutable) trusted root, and its
// signature checks (P-384 for Sigstore's public-good CA) dominate the cost
// of verifying a bundle; verifiers such as admission controllers see the
// same signatures again and again.
func (v *Verifier) cachedChainAt(leaf *x509.Certificate, t time.Time) ([]*x509.Certificate, error) {
	key := chainKey{leaf: sha256.Sum256(leaf.Raw), at: t.UnixNano()}
	v.chainMu.Lock()
	chain, ok := v.chains[key]
	v.chainMu.Unlock()
	if ok {
		return chain, nil
	}
	chain, err := v.chainAt(leaf, t)
	if err != nil {
		return nil, err
	}
	v.chainMu.Lock()
	if len(v.chains) >= maxCachedChains {
		clear(v.chains)
	}
	v.chains[key] = chain
	v.chainMu.Unlock()
	return chain, nil
}

func (v *Verifier) chainAt(leaf *x509.Certificate, t time.Time) ([]*x509.Certificate, error) {
	var errs []error
	for _, ca := range v.cas {
		if !ca.ca.ValidFor.Contains(t) {
			errs = append(errs, fmt.Errorf("CA %s not valid at that time", ca.ca.URI))
			continue
		}
		chains, err := leaf.Verify(x509.VerifyOptions{
			CurrentTime:   t,
			Roots:         ca.roots,
			Intermediates: ca.intermediates,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		})
		if err == nil {
			return chains[0], nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, errors.New("no trusted certificate authorities")
	}
	return nil, fmt.Errorf("no trusted CA issued the certificate: %w", errors.Join(errs...))
}

// checkIssuedByTrustedCA checks that cert's signature verifies with the key
// of a trusted CA's issuing or root certificate, regardless of time.
func (v *Verifier) checkIssuedByTrustedCA(cert *x509.Certificate) error {
	for _, ca := range v.cas {
		for _, issuer := range append(slices.Clone(ca.ca.Intermediates), ca.ca.Root) {
			if issuer != nil && cert.CheckSignatureFrom(issuer) == nil {
				return nil
			}
		}
	}
	return fail(CheckCertificate, "the certificate's signature does not verify with the key of any trusted CA")
}
