package verify

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"sync"
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

	anchorOnce sync.Once
	anchor     *anchoredChain // nil: verify leaves against the whole chain
}

// anchoredChain is a trusted CA's issuing certificate with the rest of its
// chain checked once, so that a leaf is verified against the issuing
// certificate alone (one signature check instead of one per link: the
// intermediate's P-384 signature by its root cost as much as the rest of a
// bundle's verification). It exists only when that gives x509.Verify's
// answer for the whole chain: see [caVerifier.anchored].
type anchoredChain struct {
	pool  *x509.CertPool      // the issuing certificate, as the only root
	upper []*x509.Certificate // the certificates above it, the root last
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
		if chain, ok := ca.anchoredChainAt(leaf, t); ok {
			return chain, nil
		}
		// Otherwise the whole chain decides, and says why it fails.
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

// anchoredChainAt verifies leaf at t against the CA's issuing certificate
// as the trust anchor, and the certificates above it by their validity at
// t (everything else about them was checked once, by anchored). ok is
// false when the CA has no anchored chain or leaf does not verify that
// way; the caller then verifies leaf against the whole chain.
func (ca *caVerifier) anchoredChainAt(leaf *x509.Certificate, t time.Time) (chain []*x509.Certificate, ok bool) {
	a := ca.anchored()
	if a == nil || hasPolicyControls(leaf) {
		return nil, false
	}
	for _, c := range a.upper {
		if t.Before(c.NotBefore) || t.After(c.NotAfter) {
			return nil, false
		}
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		CurrentTime: t,
		Roots:       a.pool,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	})
	if err != nil {
		return nil, false
	}
	return append(slices.Clip(chains[0]), a.upper...), true
}

// anchored returns the CA's anchored chain, checking it the first time.
// A leaf that verifies against the issuing certificate alone then verifies
// against the whole chain as x509.Verify checks it, because everything
// x509.Verify would check above the issuing certificate does not depend on
// the leaf, except the validity periods (checked per leaf): each link's
// issuer name and signature, the issuing certificate's CA basic
// constraint, path lengths, and the absence of anything that constrains
// the leaf from above (extended key usages, name constraints, policy
// controls, unhandled critical extensions). Chains with any of those get no
// anchor.
func (ca *caVerifier) anchored() *anchoredChain {
	ca.anchorOnce.Do(func() {
		if len(ca.ca.Intermediates) == 0 || ca.ca.Root == nil {
			return // the root issues leaves itself: nothing to save
		}
		issuing := ca.ca.Intermediates[0]
		upper := append(slices.Clone(ca.ca.Intermediates[1:]), ca.ca.Root)
		if !issuing.BasicConstraintsValid || !issuing.IsCA || hasPolicyControls(issuing) {
			return
		}
		child := issuing
		for i, c := range upper {
			// c sits above the leaf, the issuing certificate and i more
			// intermediates: x509.Verify counts 1+i intermediates below it.
			// (CheckSignatureFrom requires c to be a CA; every extension
			// in the allowed list is one Go handles.)
			if !onlyPlainCAExtensions(c) || (c.BasicConstraintsValid && c.MaxPathLen >= 0 && 1+i > c.MaxPathLen) ||
				!trustedLinkVerifies(child, c) {
				return
			}
			child = c
		}
		pool := x509.NewCertPool()
		pool.AddCert(issuing)
		ca.anchor = &anchoredChain{pool: pool, upper: upper}
	})
	return ca.anchor
}

// Certificate extensions an anchored chain's upper certificates may carry:
// none of them constrains the certificates below.
var plainCAExtensions = []asn1.ObjectIdentifier{
	{2, 5, 29, 14}, // subject key identifier
	{2, 5, 29, 15}, // key usage (x509.Verify ignores it)
	{2, 5, 29, 19}, // basic constraints
	{2, 5, 29, 35}, // authority key identifier
}

func onlyPlainCAExtensions(c *x509.Certificate) bool {
	for _, e := range c.Extensions {
		if !slices.ContainsFunc(plainCAExtensions, e.Id.Equal) {
			return false
		}
	}
	return true
}

// Extensions that take part in RFC 5280 policy processing beyond listing
// policies: with none of them in a chain, x509.Verify accepts the chain's
// policies whatever they are, wherever the trust anchor is.
var policyControlExtensions = []asn1.ObjectIdentifier{
	{2, 5, 29, 33}, // policy mappings
	{2, 5, 29, 36}, // policy constraints
	{2, 5, 29, 54}, // inhibit anyPolicy
}

func hasPolicyControls(c *x509.Certificate) bool {
	for _, e := range c.Extensions {
		if slices.ContainsFunc(policyControlExtensions, e.Id.Equal) {
			return true
		}
	}
	return false
}

// trustedLinks remembers the links of trusted roots' CA chains whose
// signature verified, by the SHA-256 of both certificates' bytes, for the
// life of the process: a verifier is often made per verification (one per
// CLI call, per admission policy), and the trusted root's own links are the
// same every time.
var trustedLinks = struct {
	sync.Mutex
	verified map[[2][sha256.Size]byte]bool
}{verified: map[[2][sha256.Size]byte]bool{}}

// maxTrustedLinks bounds trustedLinks; it is emptied when full.
const maxTrustedLinks = 1024

// trustedLinkVerifies reports whether child names parent as its issuer and
// is signed by it, remembering a success.
func trustedLinkVerifies(child, parent *x509.Certificate) bool {
	if !bytes.Equal(child.RawIssuer, parent.RawSubject) {
		return false
	}
	key := [2][sha256.Size]byte{sha256.Sum256(child.Raw), sha256.Sum256(parent.Raw)}
	trustedLinks.Lock()
	ok := trustedLinks.verified[key]
	trustedLinks.Unlock()
	if ok {
		return true
	}
	if child.CheckSignatureFrom(parent) != nil {
		return false
	}
	trustedLinks.Lock()
	if len(trustedLinks.verified) >= maxTrustedLinks {
		clear(trustedLinks.verified)
	}
	trustedLinks.verified[key] = true
	trustedLinks.Unlock()
	return true
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
