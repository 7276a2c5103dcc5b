package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// ErrBadRequest marks requests the CA refuses because of what the client
// sent: unparsable or weak keys, bad proofs of possession, bad CSRs.
var ErrBadRequest = errors.New("bad request")

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
}

// ParsePublicKey parses a public key given as PEM ("PUBLIC KEY" or
// "RSA PUBLIC KEY"), as base64 of DER (what the legacy v1 API sends), or as
// raw DER.
func ParsePublicKey(content []byte) (crypto.PublicKey, error) {
	if len(content) == 0 {
		return nil, badRequest("public key is empty")
	}
	der := content
	if block, _ := pem.Decode(content); block != nil {
		switch block.Type {
		case "PUBLIC KEY":
			der = block.Bytes
		case "RSA PUBLIC KEY":
			k, err := x509.ParsePKCS1PublicKey(block.Bytes)
			if err != nil {
				return nil, badRequest("public key: %v", err)
			}
			return k, nil
		default:
			return nil, badRequest("public key: unexpected PEM block %q", block.Type)
		}
	} else if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(content))); err == nil {
		der = b
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, badRequest("public key is not PEM or DER SubjectPublicKeyInfo: %v", err)
	}
	return k, nil
}

// CheckKey rejects keys too weak (or too large) to certify: ECDSA must use
// P-256, P-384 or P-521, RSA must have 2048 to 4096 bits and exponent 65537,
// Ed25519 is accepted.
func CheckKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return nil
		}
		return badRequest("ECDSA curve %s is not allowed (use P-256, P-384 or P-521)", k.Curve.Params().Name)
	case *rsa.PublicKey:
		bits := k.N.BitLen()
		if bits < 2048 {
			return badRequest("RSA key of %d bits is too weak (minimum 2048)", bits)
		}
		if bits > 4096 {
			return badRequest("RSA key of %d bits is too large (maximum 4096)", bits)
		}
		if k.E != 65537 {
			return badRequest("RSA public exponent %d is not allowed (use 65537)", k.E)
		}
		return nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return badRequest("Ed25519 key has %d bytes", len(k))
		}
		return nil
	default:
		return badRequest("unsupported key type %T", pub)
	}
}

// VerifyProofOfPossession checks sig, a signature by pub over challenge (the
// token's email or subject), as Sigstore clients make it: ECDSA ASN.1 over
// the hash matching the curve, RSA PKCS#1 v1.5 over SHA-256, Ed25519 over
// the challenge itself.
func VerifyProofOfPossession(pub crypto.PublicKey, sig []byte, challenge string) error {
	if len(sig) == 0 {
		return badRequest("proof of possession is empty")
	}
	ok := false
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(k, digestFor(k.Curve, []byte(challenge)), sig)
	case *rsa.PublicKey:
		sum := sha256.Sum256([]byte(challenge))
		ok = rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) == nil
	case ed25519.PublicKey:
		ok = ed25519.Verify(k, []byte(challenge), sig)
	default:
		return badRequest("unsupported key type %T", pub)
	}
	if !ok {
		return badRequest("the proof of possession is not a signature over the token's subject %q by the given key", challenge)
	}
	return nil
}

func digestFor(c elliptic.Curve, msg []byte) []byte {
	switch c {
	case elliptic.P384():
		s := sha512.Sum384(msg)
		return s[:]
	case elliptic.P521():
		s := sha512.Sum512(msg)
		return s[:]
	default:
		s := sha256.Sum256(msg)
		return s[:]
	}
}

// ParseCSR parses a PEM or DER certificate signing request, checks its
// self-signature (the proof of possession) and its key.
func ParseCSR(data []byte) (*x509.CertificateRequest, error) {
	der := data
	if block, _ := pem.Decode(data); block != nil {
		if block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST" {
			return nil, badRequest("CSR: unexpected PEM block %q", block.Type)
		}
		der = block.Bytes
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, badRequest("CSR: %v", err)
	}
	if err := CheckKey(csr.PublicKey); err != nil {
		return nil, err
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, badRequest("CSR signature: %v", err)
	}
	return csr, nil
}
