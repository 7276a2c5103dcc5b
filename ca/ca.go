// Package ca issues short-lived code-signing certificates for identities
// proven by OIDC tokens, in the format Fulcio issues them: empty subject,
// the identity as subject alternative name, and Fulcio's extensions
// (OIDs 1.3.6.1.4.1.57264.1.*) describing issuer and build.
package ca

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/signetproject/signet/oidc"
)

// CertValidity is how long issued certificates are valid.
const CertValidity = 10 * time.Minute

// CA signs leaf certificates with an issuing key.
type CA struct {
	signer crypto.Signer
	chain  []*x509.Certificate // issuing certificate first, root last
	now    func() time.Time
}

// New returns a CA that signs with signer, whose certificate is chain[0];
// chain ends with the root.
func New(signer crypto.Signer, chain []*x509.Certificate) (*CA, error) {
	if len(chain) == 0 {
		return nil, errors.New("ca: empty certificate chain")
	}
	if err := samePublicKey(chain[0].PublicKey, signer.Public()); err != nil {
		return nil, fmt.Errorf("ca: issuing certificate: %w", err)
	}
	if !chain[0].IsCA || chain[0].KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, errors.New("ca: issuing certificate is not a CA certificate")
	}
	return &CA{signer: signer, chain: chain, now: time.Now}, nil
}

// SetClock replaces the clock, for tests.
func (c *CA) SetClock(now func() time.Time) { c.now = now }

// Chain returns the CA's certificates, issuing certificate first.
func (c *CA) Chain() []*x509.Certificate { return c.chain }

// Issue certifies pub for id, without SCTs. pub must already have passed
// CheckKey and the caller must have checked the proof of possession.
func (c *CA) Issue(id oidc.Identity, pub crypto.PublicKey) (*x509.Certificate, error) {
	tmpl, err := c.template(id, pub)
	if err != nil {
		return nil, err
	}
	return c.sign(tmpl, pub)
}

// CTLog is a certificate transparency log the CA submits precertificates
// to: AddPreChain logs chain (the precertificate, then the CA chain) and
// returns the SCT, TLS-encoded (RFC 6962 §3.2).
type CTLog interface {
	AddPreChain(ctx context.Context, chain []*x509.Certificate) ([]byte, error)
}

// IssueWithSCTs certifies pub for id as Fulcio does with a CT log: it signs
// a precertificate (the certificate with the critical RFC 6962 poison
// extension), gets an SCT for it from each log, and returns the final
// certificate with the SCTs embedded (extension 1.3.6.1.4.1.11129.2.4.2)
// in place of the poison. The precertificate and the final certificate
// differ only in that extension and their signature.
func (c *CA) IssueWithSCTs(ctx context.Context, id oidc.Identity, pub crypto.PublicKey, logs ...CTLog) (*x509.Certificate, error) {
	if len(logs) == 0 {
		return nil, errors.New("issue with SCTs: no CT log")
	}
	tmpl, err := c.template(id, pub)
	if err != nil {
		return nil, err
	}
	exts := tmpl.ExtraExtensions
	tmpl.ExtraExtensions = append(slices.Clip(exts), pkix.Extension{Id: oidPoison, Critical: true, Value: asn1.NullBytes})
	precert, err := c.sign(tmpl, pub)
	if err != nil {
		return nil, fmt.Errorf("precertificate: %w", err)
	}
	chain := append([]*x509.Certificate{precert}, c.chain...)
	var list cryptobyte.Builder
	list.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for i, l := range logs {
			sct, err := l.AddPreChain(ctx, chain)
			if err != nil {
				b.SetError(fmt.Errorf("CT log %d: %w", i, err))
				return
			}
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(sct) })
		}
	})
	raw, err := list.Bytes()
	if err != nil {
		return nil, fmt.Errorf("get SCT: %w", err)
	}
	value, err := asn1.Marshal(raw) // OCTET STRING holding the TLS SignedCertificateTimestampList
	if err != nil {
		return nil, err
	}
	tmpl.ExtraExtensions = append(slices.Clip(exts), pkix.Extension{Id: oidSCTList, Value: value})
	return c.sign(tmpl, pub)
}

// template is the leaf certificate for id and pub, unsigned.
func (c *CA) template(id oidc.Identity, pub crypto.PublicKey) (*x509.Certificate, error) {
	if err := CheckKey(pub); err != nil {
		return nil, err
	}
	skid, err := subjectKeyID(pub)
	if err != nil {
		return nil, badRequest("public key: %v", err)
	}
	exts, err := Extensions(id)
	if err != nil {
		return nil, err
	}
	// The precertificate and the certificate of IssueWithSCTs must share
	// the serial, so it is drawn here, not by x509.CreateCertificate.
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := c.now().UTC()
	tmpl := &x509.Certificate{
		SerialNumber:    serial,
		NotBefore:       now,
		NotAfter:        now.Add(CertValidity),
		SubjectKeyId:    skid,
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: exts,
	}
	switch {
	case id.Email != "":
		tmpl.EmailAddresses = []string{id.Email}
	case id.URI != "":
		u, err := url.Parse(id.URI)
		if err != nil {
			return nil, fmt.Errorf("identity URI %q: %w", id.URI, err)
		}
		tmpl.URIs = []*url.URL{u}
	case id.OtherName != "":
		san, err := otherNameSAN(id.OtherName)
		if err != nil {
			return nil, err
		}
		tmpl.ExtraExtensions = append([]pkix.Extension{san}, tmpl.ExtraExtensions...)
	default:
		return nil, errors.New("identity has no subject alternative name")
	}
	return tmpl, nil
}

func (c *CA) sign(tmpl *x509.Certificate, pub crypto.PublicKey) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.chain[0], pub, c.signer)
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// subjectKeyID is the SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2).
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, err
	}
	sum := sha1.Sum(spki.PublicKey.Bytes)
	return sum[:], nil
}

// serialLimit is 2^159: serials are positive integers of at most 20
// octets (RFC 5280 4.1.2.2).
var serialLimit = new(big.Int).Lsh(big.NewInt(1), 159)

func newSerial() (*big.Int, error) {
	for {
		n, err := rand.Int(rand.Reader, serialLimit)
		if err != nil {
			return nil, err
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}
