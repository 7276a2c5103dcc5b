package rekorv1

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"

	"github.com/signetproject/signet/fulcio"
)

// Rekor v1 carries keys and certificates as PEM ("x509" PKI format): one
// PUBLIC KEY block, one CERTIFICATE block, or a chain of CERTIFICATE blocks
// (leaf first, root last). The log stores them re-encoded ([publicKey.pem])
// so that the same key always yields the same entry body and search key.

// maxChainCerts is the most certificates a PEM chain may hold, as in Rekor.
const maxChainCerts = 10

// publicKey is a parsed Rekor v1 verifier: a key, or certificates whose
// first one holds the key.
type publicKey struct {
	key   crypto.PublicKey
	certs []*x509.Certificate
}

// parsePublicKey parses a PEM public key, certificate or certificate chain
// the way Rekor v1's x509 PKI does: surrounding whitespace is ignored, text
// before the first block is skipped, and anything after the first block
// makes the input a chain in which every block must be a certificate.
func parsePublicKey(raw []byte) (*publicKey, error) {
	trimmed := bytes.TrimSpace(raw)
	block, rest := pem.Decode(trimmed)
	if block == nil {
		return nil, errors.New("public key is not PEM")
	}
	if len(rest) > 0 {
		var certs []*x509.Certificate
		for rest = trimmed; len(rest) > 0; {
			if len(certs) == maxChainCerts {
				return nil, fmt.Errorf("certificate chain holds more than %d certificates", maxChainCerts)
			}
			block, rest = pem.Decode(rest)
			if block == nil {
				return nil, fmt.Errorf("certificate chain: block %d is not PEM", len(certs)+1)
			}
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("certificate chain: certificate %d: %w", len(certs)+1, err)
			}
			certs = append(certs, c)
		}
		return &publicKey{certs: certs}, nil
	}
	switch block.Type {
	case "PUBLIC KEY":
		key, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		return &publicKey{key: key}, nil
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
		return &publicKey{certs: []*x509.Certificate{c}}, nil
	}
	return nil, fmt.Errorf("PEM block %q is neither a PUBLIC KEY nor a CERTIFICATE", block.Type)
}

// pem returns the canonical PEM form of k: the PKIX key, or each
// certificate, re-encoded without headers.
func (k *publicKey) pem() ([]byte, error) {
	if k.key != nil {
		der, err := x509.MarshalPKIXPublicKey(k.key)
		if err != nil {
			return nil, fmt.Errorf("encode public key: %w", err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
	}
	var out []byte
	for _, c := range k.certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out, nil
}

// public returns the key that verifies signatures: the key, or the first
// certificate's.
func (k *publicKey) public() crypto.PublicKey {
	if k.key != nil {
		return k.key
	}
	return k.certs[0].PublicKey
}

// subjects returns the subject alternative names of the first certificate,
// the identities Rekor indexes: DNS names, email addresses, IP addresses,
// URIs and the Fulcio otherName (when there is exactly one).
func (k *publicKey) subjects() []string {
	if len(k.certs) == 0 {
		return nil
	}
	c := k.certs[0]
	out := append([]string{}, c.DNSNames...)
	out = append(out, c.EmailAddresses...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	for _, u := range c.URIs {
		out = append(out, u.String())
	}
	if on := fulcio.OtherNameSAN(c); on != "" {
		out = append(out, on)
	}
	return out
}

var (
	oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}
)

// verifyDigest verifies sig over a digest made with hash, as Rekor v1
// verifies hashedrekord signatures: RSA PKCS #1 v1.5, ECDSA (ASN.1 or
// IEEE P1363 encoded) or Ed25519ph, which needs SHA-512. A certificate
// chain must chain to its last certificate at the leaf's notBefore.
func (k *publicKey) verifyDigest(sig, digest []byte, hash crypto.Hash) error {
	if len(sig) == 0 {
		return errors.New("signature is empty")
	}
	if len(k.certs) > 1 {
		if err := verifyCertChain(k.certs); err != nil {
			return fmt.Errorf("certificate chain: %w", err)
		}
	}
	switch pub := k.public().(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(pub, hash, digest, sig)
	case *ecdsa.PublicKey:
		return verifyECDSA(pub, digest, sig)
	case ed25519.PublicKey:
		if hash != crypto.SHA512 {
			return fmt.Errorf("an Ed25519 key verifies only SHA-512 digests (Ed25519ph), not %v", hash)
		}
		return ed25519.VerifyWithOptions(pub, digest, sig, &ed25519.Options{Hash: crypto.SHA512})
	default:
		return fmt.Errorf("unsupported public key type %T", pub)
	}
}

// verifyMessage verifies sig over message as Rekor v1 verifies DSSE
// signatures: RSA PKCS #1 v1.5 and ECDSA over its SHA-256 digest, Ed25519
// over the message itself.
func (k *publicKey) verifyMessage(sig, message []byte) error {
	switch pub := k.public().(type) {
	case *rsa.PublicKey:
		d := sha256.Sum256(message)
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig)
	case *ecdsa.PublicKey:
		d := sha256.Sum256(message)
		return verifyECDSA(pub, d[:], sig)
	case ed25519.PublicKey:
		if !ed25519.Verify(pub, message, sig) {
			return errors.New("invalid Ed25519 signature")
		}
		return nil
	default:
		return fmt.Errorf("unsupported public key type %T", pub)
	}
}

// verifyECDSA verifies an ECDSA signature that is ASN.1 DER encoded or,
// when it does not parse as ASN.1, IEEE P1363 encoded (r || s).
func verifyECDSA(pub *ecdsa.PublicKey, digest, sig []byte) error {
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(sig, &rs); err == nil {
		if !ecdsa.VerifyASN1(pub, digest, sig) {
			return errors.New("invalid ASN.1 encoded ECDSA signature")
		}
		return nil
	}
	if len(sig) == 0 || len(sig) > 132 || len(sig)%2 != 0 {
		return errors.New("ECDSA signature is neither ASN.1 nor IEEE P1363 encoded")
	}
	r := new(big.Int).SetBytes(sig[:len(sig)/2])
	s := new(big.Int).SetBytes(sig[len(sig)/2:])
	if !ecdsa.Verify(pub, digest, r, s) {
		return errors.New("invalid IEEE P1363 encoded ECDSA signature")
	}
	return nil
}

// verifyCertChain checks that the first certificate chains to the last one
// through the others, with any key usage, at the first one's notBefore
// (expired certificates stay acceptable).
func verifyCertChain(certs []*x509.Certificate) error {
	roots := x509.NewCertPool()
	roots.AddCert(certs[len(certs)-1])
	inter := x509.NewCertPool()
	for _, c := range certs[1 : len(certs)-1] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		CurrentTime:   certs[0].NotBefore,
	})
	return err
}
