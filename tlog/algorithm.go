package tlog

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	_ "crypto/sha256" // register SHA-256 for crypto.Hash.New
	_ "crypto/sha512" // register SHA-384 and SHA-512 for crypto.Hash.New
	"crypto/x509"
	"fmt"

	"github.com/signetproject/signet/keys"
	commonv1 "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
)

// DefaultAlgorithms are the client signing algorithms a log accepts unless
// configured otherwise: the rekor-tiles default set.
var DefaultAlgorithms = []commonv1.PublicKeyDetails{
	commonv1.PublicKeyDetails_PKIX_RSA_PKCS1V15_2048_SHA256,
	commonv1.PublicKeyDetails_PKIX_RSA_PKCS1V15_3072_SHA256,
	commonv1.PublicKeyDetails_PKIX_RSA_PKCS1V15_4096_SHA256,
	commonv1.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
	commonv1.PublicKeyDetails_PKIX_ECDSA_P384_SHA_384,
	commonv1.PublicKeyDetails_PKIX_ECDSA_P521_SHA_512,
	commonv1.PublicKeyDetails_PKIX_ED25519,
	commonv1.PublicKeyDetails_PKIX_ED25519_PH,
}

// algorithm describes one PublicKeyDetails value the log knows how to verify.
type algorithm struct {
	details   commonv1.PublicKeyDetails
	hash      crypto.Hash // zero for pure Ed25519, which signs messages, not digests
	protoHash commonv1.HashAlgorithm
	keyMatch  func(crypto.PublicKey) bool
}

func rsaKeyOfSize(bits int) func(crypto.PublicKey) bool {
	return func(k crypto.PublicKey) bool {
		pk, ok := k.(*rsa.PublicKey)
		return ok && pk.Size()*8 == bits
	}
}

func ecdsaKeyOnCurve(c elliptic.Curve) func(crypto.PublicKey) bool {
	return func(k crypto.PublicKey) bool {
		pk, ok := k.(*ecdsa.PublicKey)
		return ok && pk.Curve == c
	}
}

func isEd25519Key(k crypto.PublicKey) bool {
	_, ok := k.(ed25519.PublicKey)
	return ok
}

// knownAlgorithms are all algorithms the log can be configured to accept.
var knownAlgorithms = map[commonv1.PublicKeyDetails]algorithm{
	commonv1.PublicKeyDetails_PKIX_RSA_PKCS1V15_2048_SHA256: {commonv1.PublicKeyDetails_PKIX_RSA_PKCS1V15_2048_SHA256, crypto.SHA256, commonv1.HashAlgorithm_SHA2_256, rsaKeyOfSize(2048)},
	commonv1.PublicKeyDetails_PKIX_RSA_PKCS1V15_3072_SHA256: {commonv1.PublicKeyDetails_PKIX_RSA_PKCS1V15_3072_SHA256, crypto.SHA256, commonv1.HashAlgorithm_SHA2_256, rsaKeyOfSize(3072)},
	commonv1.PublicKeyDetails_PKIX_RSA_PKCS1V15_4096_SHA256: {commonv1.PublicKeyDetails_PKIX_RSA_PKCS1V15_4096_SHA256, crypto.SHA256, commonv1.HashAlgorithm_SHA2_256, rsaKeyOfSize(4096)},
	commonv1.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256:       {commonv1.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256, crypto.SHA256, commonv1.HashAlgorithm_SHA2_256, ecdsaKeyOnCurve(elliptic.P256())},
	commonv1.PublicKeyDetails_PKIX_ECDSA_P384_SHA_384:       {commonv1.PublicKeyDetails_PKIX_ECDSA_P384_SHA_384, crypto.SHA384, commonv1.HashAlgorithm_SHA2_384, ecdsaKeyOnCurve(elliptic.P384())},
	commonv1.PublicKeyDetails_PKIX_ECDSA_P521_SHA_512:       {commonv1.PublicKeyDetails_PKIX_ECDSA_P521_SHA_512, crypto.SHA512, commonv1.HashAlgorithm_SHA2_512, ecdsaKeyOnCurve(elliptic.P521())},
	commonv1.PublicKeyDetails_PKIX_ED25519:                  {commonv1.PublicKeyDetails_PKIX_ED25519, 0, commonv1.HashAlgorithm_HASH_ALGORITHM_UNSPECIFIED, isEd25519Key},
	commonv1.PublicKeyDetails_PKIX_ED25519_PH:               {commonv1.PublicKeyDetails_PKIX_ED25519_PH, crypto.SHA512, commonv1.HashAlgorithm_SHA2_512, isEd25519Key},
}

// algorithmSet is the set of algorithms a log accepts.
type algorithmSet map[commonv1.PublicKeyDetails]algorithm

func newAlgorithmSet(details []commonv1.PublicKeyDetails) (algorithmSet, error) {
	if details == nil {
		details = DefaultAlgorithms
	}
	set := make(algorithmSet, len(details))
	for _, d := range details {
		a, ok := knownAlgorithms[d]
		if !ok {
			return nil, fmt.Errorf("signing algorithm %s is not supported", d)
		}
		set[d] = a
	}
	return set, nil
}

// signer is the parsed verification material of one request verifier.
type signer struct {
	key crypto.PublicKey
	alg algorithm
}

// parseVerifier checks a request verifier for completeness, parses its key or
// certificate and checks that its key details are accepted and match the key.
func (s algorithmSet) parseVerifier(v *rekorpb.Verifier) (signer, error) {
	if v == nil {
		return signer{}, fmt.Errorf("missing verifier: %w", ErrMalformedRequest)
	}
	var key crypto.PublicKey
	switch m := v.GetVerifier().(type) {
	case *rekorpb.Verifier_PublicKey:
		raw := m.PublicKey.GetRawBytes()
		if len(raw) == 0 {
			return signer{}, fmt.Errorf("missing public key raw bytes: %w", ErrMalformedRequest)
		}
		k, err := x509.ParsePKIXPublicKey(raw)
		if err != nil {
			return signer{}, fmt.Errorf("parse public key: %v: %w", err, ErrMalformedRequest)
		}
		key = k
	case *rekorpb.Verifier_X509Certificate:
		raw := m.X509Certificate.GetRawBytes()
		if len(raw) == 0 {
			return signer{}, fmt.Errorf("missing X.509 certificate raw bytes: %w", ErrMalformedRequest)
		}
		c, err := x509.ParseCertificate(raw)
		if err != nil {
			return signer{}, fmt.Errorf("parse certificate: %v: %w", err, ErrMalformedRequest)
		}
		key = c.PublicKey
	default:
		return signer{}, fmt.Errorf("missing signature public key or X.509 certificate: %w", ErrMalformedRequest)
	}
	alg, ok := s[v.GetKeyDetails()]
	if !ok {
		return signer{}, fmt.Errorf("key details %s: %w", v.GetKeyDetails(), ErrUnsupportedAlgorithm)
	}
	if !alg.keyMatch(key) {
		return signer{}, fmt.Errorf("key details %s do not match a %s: %w", v.GetKeyDetails(), keys.Describe(key), ErrUnsupportedAlgorithm)
	}
	return signer{key: key, alg: alg}, nil
}

// verifyDigest verifies sig over a digest computed with s.alg.hash.
func (s signer) verifyDigest(digest, sig []byte) error {
	if s.alg.hash == 0 {
		return fmt.Errorf("key details %s sign messages, not digests: %w", s.alg.details, ErrUnsupportedAlgorithm)
	}
	if len(digest) != s.alg.hash.Size() {
		return fmt.Errorf("digest length %d does not match %s: %w", len(digest), s.alg.hash, ErrMalformedRequest)
	}
	ok := false
	switch pk := s.key.(type) {
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(pk, digest, sig)
	case *rsa.PublicKey:
		ok = rsa.VerifyPKCS1v15(pk, s.alg.hash, digest, sig) == nil
	case ed25519.PublicKey:
		ok = ed25519.VerifyWithOptions(pk, digest, sig, &ed25519.Options{Hash: crypto.SHA512}) == nil
	}
	if !ok {
		return ErrInvalidSignature
	}
	return nil
}

// verifyMessage verifies sig over msg, hashing it first unless the algorithm
// is pure Ed25519.
func (s signer) verifyMessage(msg, sig []byte) error {
	if s.alg.hash == 0 {
		pk, ok := s.key.(ed25519.PublicKey)
		if !ok || !ed25519.Verify(pk, msg, sig) {
			return ErrInvalidSignature
		}
		return nil
	}
	h := s.alg.hash.New()
	h.Write(msg)
	return s.verifyDigest(h.Sum(nil), sig)
}
