// Package sign produces Sigstore bundles (v0.3): it signs an artifact or an
// in-toto statement, obtains a certificate from a keyless CA, a transparency
// log entry and RFC 3161 timestamps, and assembles them. Services are small
// interfaces; HTTP clients for Fulcio-, Rekor v2- and RFC 3161-compatible
// services (such as signet server) are provided.
package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
)

// MediaTypeBundle03 is the media type of the bundles this package makes.
const MediaTypeBundle03 = "application/vnd.dev.sigstore.bundle.v0.3+json"

// InTotoPayloadType is the DSSE payload type of in-toto statements.
const InTotoPayloadType = "application/vnd.in-toto+json"

// CertificateAuthority issues a short-lived certificate for key to the
// identity an OIDC token proves. It returns DER certificates, leaf first.
type CertificateAuthority interface {
	Certificate(ctx context.Context, key crypto.Signer, idToken string) ([][]byte, error)
}

// TransparencyLog records a signature and returns its log entry.
type TransparencyLog interface {
	Log(ctx context.Context, e Entry) (*protorekor.TransparencyLogEntry, error)
}

// Timestamper returns a signed RFC 3161 timestamp response over the
// SHA-256 of signature.
type Timestamper interface {
	Timestamp(ctx context.Context, signature []byte) ([]byte, error)
}

// Entry is what a transparency log records: a signature over a digest,
// with the certificate (DER) or public key (PKIX DER) that verifies it.
type Entry struct {
	Signature   []byte
	Digest      []byte              // SHA-256 of the artifact, or of the DSSE PAE
	Envelope    *protodsse.Envelope // the signed DSSE envelope, nil for message signatures
	Certificate []byte
	PublicKey   []byte
	KeyDetails  protocommon.PublicKeyDetails
}

// Options say how to sign. Either Key (key-based signing) or CA + IDToken
// (keyless: an ephemeral ECDSA P-256 key is generated) must be set.
type Options struct {
	Key     crypto.Signer
	CA      CertificateAuthority
	IDToken string
	// Logs each record the signature; at least one is required unless
	// UnsafeNoTlog is set.
	Logs []TransparencyLog
	// TSAs each timestamp the signature.
	TSAs []Timestamper
	// UnsafeNoTlog allows a bundle without transparency log entries, which
	// default verifiers reject.
	UnsafeNoTlog bool
}

// Validate reports inconsistent options.
func (o Options) Validate() error {
	switch {
	case o.Key != nil && o.CA != nil:
		return errors.New("sign: give a key or a certificate authority, not both")
	case o.Key == nil && o.CA == nil:
		return errors.New("sign: need a key or a certificate authority")
	case o.CA != nil && o.IDToken == "":
		return errors.New("sign: keyless signing needs an OIDC identity token")
	case len(o.Logs) == 0 && !o.UnsafeNoTlog:
		return errors.New("sign: no transparency log configured")
	}
	return nil
}

// Blob signs the artifact read from r as a message signature.
func Blob(ctx context.Context, r io.Reader, opts Options) (*protobundle.Bundle, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return nil, fmt.Errorf("read artifact: %w", err)
	}
	return Digest(ctx, h.Sum(nil), opts)
}

// Digest signs an artifact given by its SHA-256 digest.
func Digest(ctx context.Context, digest []byte, opts Options) (*protobundle.Bundle, error) {
	if len(digest) != sha256.Size {
		return nil, fmt.Errorf("sign: digest has %d bytes, want a SHA-256 digest", len(digest))
	}
	s, err := newSession(ctx, opts)
	if err != nil {
		return nil, err
	}
	sig, err := s.key.Sign(rand.Reader, digest, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	b := s.bundle()
	b.Content = &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
		MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest},
		Signature:     sig,
	}}
	return b, s.attest(ctx, b, sig, digest)
}

// DSSE signs payload as a DSSE envelope of payloadType.
func DSSE(ctx context.Context, payloadType string, payload []byte, opts Options) (*protobundle.Bundle, error) {
	s, err := newSession(ctx, opts)
	if err != nil {
		return nil, err
	}
	pae := PAE(payloadType, payload)
	digest := sha256.Sum256(pae)
	sig, err := s.key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	b := s.bundle()
	b.Content = &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
		Payload: payload, PayloadType: payloadType,
		Signatures: []*protodsse.Signature{{Sig: sig}},
	}}
	return b, s.attest(ctx, b, sig, digest[:])
}

// PAE is DSSE's pre-authentication encoding of a payload.
func PAE(payloadType string, payload []byte) []byte {
	return fmt.Appendf(nil, "DSSEv1 %d %s %d %s", len(payloadType), payloadType, len(payload), payload)
}

// session is one signing operation: its key and verification material.
type session struct {
	opts       Options
	key        crypto.Signer
	certDER    []byte // leaf, keyless only
	pubDER     []byte
	keyDetails protocommon.PublicKeyDetails
}

func newSession(ctx context.Context, opts Options) (*session, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	s := &session{opts: opts, key: opts.Key}
	if s.key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		s.key = k
	}
	var err error
	if s.keyDetails, err = keyDetails(s.key.Public()); err != nil {
		return nil, err
	}
	if s.pubDER, err = x509.MarshalPKIXPublicKey(s.key.Public()); err != nil {
		return nil, err
	}
	if opts.CA != nil {
		chain, err := opts.CA.Certificate(ctx, s.key, opts.IDToken)
		if err != nil {
			return nil, fmt.Errorf("get signing certificate: %w", err)
		}
		if len(chain) == 0 {
			return nil, errors.New("get signing certificate: the CA returned no certificate")
		}
		s.certDER = chain[0]
	}
	return s, nil
}

func (s *session) bundle() *protobundle.Bundle {
	vm := &protobundle.VerificationMaterial{}
	if s.certDER != nil {
		vm.Content = &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: s.certDER}}
	} else {
		hint := sha256.Sum256(s.pubDER)
		vm.Content = &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{
			Hint: base64.StdEncoding.EncodeToString(hint[:]),
		}}
	}
	return &protobundle.Bundle{MediaType: MediaTypeBundle03, VerificationMaterial: vm}
}

// attest adds timestamps and log entries for sig to b.
func (s *session) attest(ctx context.Context, b *protobundle.Bundle, sig, digest []byte) error {
	for i, t := range s.opts.TSAs {
		ts, err := t.Timestamp(ctx, sig)
		if err != nil {
			return fmt.Errorf("timestamp authority %d: %w", i, err)
		}
		if b.VerificationMaterial.TimestampVerificationData == nil {
			b.VerificationMaterial.TimestampVerificationData = &protobundle.TimestampVerificationData{}
		}
		tvd := b.VerificationMaterial.TimestampVerificationData
		tvd.Rfc3161Timestamps = append(tvd.Rfc3161Timestamps, &protocommon.RFC3161SignedTimestamp{SignedTimestamp: ts})
	}
	e := Entry{Signature: sig, Digest: digest, KeyDetails: s.keyDetails, Envelope: b.GetDsseEnvelope()}
	if s.certDER != nil {
		e.Certificate = s.certDER
	} else {
		e.PublicKey = s.pubDER
	}
	for i, l := range s.opts.Logs {
		tle, err := l.Log(ctx, e)
		if err != nil {
			return fmt.Errorf("transparency log %d: %w", i, err)
		}
		b.VerificationMaterial.TlogEntries = append(b.VerificationMaterial.TlogEntries, tle)
	}
	return nil
}

// keyDetails names the signing algorithm used for a key (SHA-256 with
// ECDSA P-256 and RSA, matching the digests this package signs).
func keyDetails(pub crypto.PublicKey) (protocommon.PublicKeyDetails, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256, nil
		}
		return 0, fmt.Errorf("sign: ECDSA %s keys are not supported yet (use P-256)", k.Curve.Params().Name)
	case *rsa.PublicKey:
		switch k.N.BitLen() {
		case 2048:
			return protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_2048_SHA256, nil
		case 3072:
			return protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_3072_SHA256, nil
		case 4096:
			return protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_4096_SHA256, nil
		}
		return 0, fmt.Errorf("sign: RSA keys of %d bits are not supported", k.N.BitLen())
	default:
		return 0, fmt.Errorf("sign: %T keys are not supported yet (use ECDSA P-256 or RSA)", pub)
	}
}
