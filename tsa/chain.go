package tsa

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

var (
	oidExtKeyUsage     = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidKPTimeStamping  = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	defaultOrg         = "signet"
	defaultValidity    = 10 * 365 * 24 * time.Hour
	defaultBackdate    = 5 * time.Minute
	serialNumberLimit  = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 159), big.NewInt(1))
	pemTypeCertificate = "CERTIFICATE"
)

// ChainOptions tune CreateChain. The zero value is valid.
type ChainOptions struct {
	// Organization is the subject organization of both certificates;
	// "signet" when empty. The common names are "<Organization> TSA Root"
	// and "<Organization> Timestamping".
	Organization string
	// NotBefore starts the validity of both certificates; five minutes before
	// the current time when zero, to tolerate verifiers with a slow clock.
	NotBefore time.Time
	// Validity is how long both certificates stay valid after NotBefore;
	// ten years when zero.
	Validity time.Duration
}

// Validate reports options CreateChain cannot use.
func (o ChainOptions) Validate() error {
	if o.Validity < 0 {
		return fmt.Errorf("chain validity %v is negative", o.Validity)
	}
	return nil
}

// CreateChain creates a self-signed root CA certificate for rootSigner and
// a timestamping certificate for tsaSigner issued by that root, and returns
// them leaf first. The leaf is an end-entity certificate whose only extended
// key usage is id-kp-timeStamping, marked critical as RFC 3161 section 2.3
// requires and as Sigstore's verifiers check.
func CreateChain(rootSigner, tsaSigner crypto.Signer, opts ChainOptions) ([]*x509.Certificate, error) {
	if rootSigner == nil || tsaSigner == nil {
		return nil, errors.New("create TSA chain: nil signer")
	}
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("create TSA chain: %w", err)
	}
	org := opts.Organization
	if org == "" {
		org = defaultOrg
	}
	notBefore := opts.NotBefore
	if notBefore.IsZero() {
		notBefore = time.Now().Add(-defaultBackdate)
	}
	validity := opts.Validity
	if validity == 0 {
		validity = defaultValidity
	}
	notAfter := notBefore.Add(validity)

	rootSKID, err := subjectKeyID(rootSigner.Public())
	if err != nil {
		return nil, fmt.Errorf("create TSA root certificate: %w", err)
	}
	rootSerial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("create TSA root certificate: %w", err)
	}
	rootTmpl := &x509.Certificate{
		SerialNumber:          rootSerial,
		Subject:               pkix.Name{CommonName: org + " TSA Root", Organization: []string{org}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		SubjectKeyId:          rootSKID,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, rootSigner.Public(), rootSigner)
	if err != nil {
		return nil, fmt.Errorf("create TSA root certificate: %w", err)
	}
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return nil, fmt.Errorf("parse TSA root certificate: %w", err)
	}

	ekuValue, err := asn1.Marshal([]asn1.ObjectIdentifier{oidKPTimeStamping})
	if err != nil {
		return nil, fmt.Errorf("encode timestamping EKU: %w", err)
	}
	leafSKID, err := subjectKeyID(tsaSigner.Public())
	if err != nil {
		return nil, fmt.Errorf("create TSA leaf certificate: %w", err)
	}
	leafSerial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("create TSA leaf certificate: %w", err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber:          leafSerial,
		Subject:               pkix.Name{CommonName: org + " Timestamping", Organization: []string{org}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  false,
		SubjectKeyId:          leafSKID,
		// crypto/x509 marks ExtKeyUsage non-critical, so the critical EKU
		// RFC 3161 requires goes in as a raw extension.
		ExtraExtensions: []pkix.Extension{{Id: oidExtKeyUsage, Critical: true, Value: ekuValue}},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, root, tsaSigner.Public(), rootSigner)
	if err != nil {
		return nil, fmt.Errorf("create TSA leaf certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil {
		return nil, fmt.Errorf("parse TSA leaf certificate: %w", err)
	}
	chain := []*x509.Certificate{leaf, root}
	if err := validateChain(chain, tsaSigner.Public(), notBefore); err != nil {
		return nil, fmt.Errorf("check created TSA chain: %w", err)
	}
	return chain, nil
}

// validateChain checks that chain (leaf first, root last) is fit for
// timestamping with the key pub at time now: the checks of RFC 3161
// section 2.3 that Sigstore's verifiers apply.
func validateChain(chain []*x509.Certificate, pub crypto.PublicKey, now time.Time) error {
	if len(chain) < 2 {
		return fmt.Errorf("chain has %d certificates, want a leaf and at least a root", len(chain))
	}
	for i, c := range chain {
		if c == nil {
			return fmt.Errorf("chain certificate %d is nil", i)
		}
	}
	leaf, root := chain[0], chain[len(chain)-1]
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if k, ok := leaf.PublicKey.(equaler); !ok || !k.Equal(pub) {
		return errors.New("leaf certificate does not certify the signer's public key")
	}
	if leaf.IsCA {
		return errors.New("leaf certificate is a CA, want an end-entity certificate")
	}
	if len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || len(leaf.UnknownExtKeyUsage) != 0 {
		return errors.New("leaf certificate's extended key usage must be timeStamping only")
	}
	critical := false
	for _, ext := range leaf.Extensions {
		if ext.Id.Equal(oidExtKeyUsage) {
			critical = ext.Critical
		}
	}
	if !critical {
		return errors.New("leaf certificate's extended key usage is not critical")
	}
	for i := 0; i+1 < len(chain); i++ {
		if !chain[i+1].IsCA {
			return fmt.Errorf("chain certificate %d is not a CA", i+1)
		}
		if err := chain[i].CheckSignatureFrom(chain[i+1]); err != nil {
			return fmt.Errorf("chain certificate %d is not issued by certificate %d: %w", i, i+1, err)
		}
	}
	if err := root.CheckSignatureFrom(root); err != nil {
		return fmt.Errorf("root certificate is not self-signed: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root)
	intermediates := x509.NewCertPool()
	for _, c := range chain[1 : len(chain)-1] {
		intermediates.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: intermediates,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
		CurrentTime:   now,
	})
	if err != nil {
		return fmt.Errorf("verify leaf certificate: %w", err)
	}
	return nil
}

// EncodeChainPEM returns the certificates as concatenated PEM blocks, in the
// order given: the body of GET /api/v1/timestamp/certchain (leaf first).
func EncodeChainPEM(chain []*x509.Certificate) []byte {
	var buf bytes.Buffer
	for _, c := range chain {
		// pem.Encode only fails on invalid headers; there are none.
		_ = pem.Encode(&buf, &pem.Block{Type: pemTypeCertificate, Bytes: c.Raw})
	}
	return buf.Bytes()
}

// ParseChainPEM parses concatenated PEM certificates, as EncodeChainPEM
// writes them, keeping their order. Anything but CERTIFICATE blocks and
// whitespace between them is an error. It does not check that the
// certificates form a chain; NewAuthority does.
func ParseChainPEM(data []byte) ([]*x509.Certificate, error) {
	var chain []*x509.Certificate
	rest := data
	for {
		rest = bytes.TrimLeft(rest, " \t\r\n")
		if len(rest) == 0 {
			break
		}
		// pem.Decode skips text before a block; a chain file has none.
		if !bytes.HasPrefix(rest, []byte("-----BEGIN ")) {
			return nil, fmt.Errorf("parse TSA chain: unexpected data after certificate %d", len(chain))
		}
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("parse TSA chain: malformed PEM block %d", len(chain))
		}
		if block.Type != pemTypeCertificate {
			return nil, fmt.Errorf("parse TSA chain: PEM block %d is %q, want %q", len(chain), block.Type, pemTypeCertificate)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse TSA chain certificate %d: %w", len(chain), err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, errors.New("parse TSA chain: no certificates")
	}
	return chain, nil
}

// subjectKeyID derives a key identifier from the subjectPublicKey bits with
// truncated SHA-256 (RFC 7093 section 2, method 1).
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("decode public key: %w", err)
	}
	sum := sha256.Sum256(spki.PublicKey.Bytes)
	return sum[:20], nil
}

// randomSerial returns a positive certificate serial number below 2^159,
// so its DER encoding fits the 20 octets RFC 5280 allows.
func randomSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, serialNumberLimit)
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}
