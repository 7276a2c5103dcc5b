package verify

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/signetproject/signet/fulcio"
	"github.com/signetproject/signet/trustroot"
)

// Certificate summarises a Fulcio signing certificate; see
// [fulcio.Certificate].
type Certificate = fulcio.Certificate

// oidSAN is X.509's subject alternative name extension.
var oidSAN = asn1.ObjectIdentifier{2, 5, 29, 17}

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

// maxCachedChains bounds the chain cache and the SCT cache; each is emptied
// when full.
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
