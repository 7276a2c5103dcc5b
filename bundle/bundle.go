// Package bundle decodes, checks and encodes Sigstore bundles (media types
// v0.1 to v0.3): the signature, the verification material (certificate or
// public key hint) and the evidence (transparency log entries, RFC 3161
// timestamps) that travel with a signed artifact.
//
// Decode rejects bundles that are not well formed, so that the verifier only
// ever sees complete material; it does not check any signature.
package bundle

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"golang.org/x/mod/semver"
	"google.golang.org/protobuf/encoding/protojson"
)

// Media types of the bundle versions this package reads.
const (
	MediaType01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"
	MediaType02 = "application/vnd.dev.sigstore.bundle+json;version=0.2"
	MediaType03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
)

// Limits on repeated evidence, so a hostile bundle cannot make verification
// arbitrarily expensive.
const (
	MaxTlogEntries = 32
	MaxTimestamps  = 32
)

// Errors returned by Decode. All of them wrap ErrInvalid.
var (
	ErrInvalid                     = errors.New("invalid bundle")
	ErrUnsupportedMediaType        = fmt.Errorf("%w: unsupported media type", ErrInvalid)
	ErrMissingContent              = fmt.Errorf("%w: missing message signature or DSSE envelope", ErrInvalid)
	ErrMissingVerificationMaterial = fmt.Errorf("%w: missing verification material", ErrInvalid)
	ErrInvalidTlogEntry            = fmt.Errorf("%w: invalid transparency log entry", ErrInvalid)
)

const mediaTypePrefix = "application/vnd.dev.sigstore.bundle"

// Bundle is a well-formed Sigstore bundle. Construct it with Decode or
// FromProto; the accessors never fail on a Bundle built that way.
type Bundle struct {
	pb          *protobundle.Bundle
	version     string
	certificate *x509.Certificate
	tlogEntries []*TlogEntry
}

// ReadFile reads and decodes a bundle file.
func ReadFile(path string) (*Bundle, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	return Decode(data)
}

// Decode parses the protobuf-JSON form of a bundle and checks that it is
// well formed.
func Decode(data []byte) (*Bundle, error) {
	pb, ok := decodeFast(data)
	if !ok {
		pb = &protobundle.Bundle{}
		if err := protojson.Unmarshal(data, pb); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	return FromProto(pb)
}

// FromProto checks a bundle message and wraps it. The message must not be
// modified afterwards.
func FromProto(pb *protobundle.Bundle) (*Bundle, error) {
	if pb == nil {
		return nil, fmt.Errorf("%w: empty bundle", ErrInvalid)
	}
	version, err := Version(pb.GetMediaType())
	if err != nil {
		return nil, err
	}
	b := &Bundle{pb: pb, version: version}
	if err := b.check(); err != nil {
		return nil, err
	}
	return b, nil
}

// Encode returns the protobuf-JSON form of the bundle.
func (b *Bundle) Encode() ([]byte, error) {
	out, err := protojson.Marshal(b.pb)
	if err != nil {
		return nil, fmt.Errorf("encode bundle: %w", err)
	}
	return out, nil
}

// Version maps a bundle media type to its version ("v0.1", "v0.2",
// "v0.3"), rejecting versions this package does not support.
func Version(mediaType string) (string, error) {
	var v string
	switch {
	case strings.HasPrefix(mediaType, mediaTypePrefix+"+json;version="):
		v = "v" + strings.TrimPrefix(mediaType, mediaTypePrefix+"+json;version=")
		if v != "v0.1" && v != "v0.2" && v != "v0.3" {
			return "", fmt.Errorf("%w: %q", ErrUnsupportedMediaType, mediaType)
		}
	case strings.HasPrefix(mediaType, mediaTypePrefix+".v") && strings.HasSuffix(mediaType, "+json"):
		v = strings.TrimSuffix(strings.TrimPrefix(mediaType, mediaTypePrefix+"."), "+json")
		if !semver.IsValid(v) {
			return "", fmt.Errorf("%w: invalid version in %q", ErrUnsupportedMediaType, mediaType)
		}
	default:
		return "", fmt.Errorf("%w: %q", ErrUnsupportedMediaType, mediaType)
	}
	if semver.Compare(v, "v0.1") < 0 || semver.Compare(v, "v0.4") >= 0 {
		return "", fmt.Errorf("%w: version %s is not supported", ErrUnsupportedMediaType, v)
	}
	return v, nil
}

// MediaType returns the media type of a bundle version ("v0.3" or "0.3").
func MediaType(version string) (string, error) {
	switch strings.TrimPrefix(version, "v") {
	case "0.1":
		return MediaType01, nil
	case "0.2":
		return MediaType02, nil
	case "0.3":
		return MediaType03, nil
	}
	return "", fmt.Errorf("%w: version %q", ErrUnsupportedMediaType, version)
}

func (b *Bundle) check() error {
	pb := b.pb
	switch c := pb.GetContent().(type) {
	case *protobundle.Bundle_MessageSignature:
		if c.MessageSignature == nil || c.MessageSignature.GetMessageDigest() == nil {
			return fmt.Errorf("%w: message signature without digest", ErrMissingContent)
		}
	case *protobundle.Bundle_DsseEnvelope:
		env := c.DsseEnvelope
		if env == nil || env.GetPayload() == nil {
			return fmt.Errorf("%w: DSSE envelope without payload", ErrMissingContent)
		}
		for i, s := range env.GetSignatures() {
			if s == nil {
				return fmt.Errorf("%w: DSSE signature %d is empty", ErrMissingContent, i)
			}
		}
	default:
		return ErrMissingContent
	}

	vm := pb.GetVerificationMaterial()
	switch c := vm.GetContent().(type) {
	case *protobundle.VerificationMaterial_PublicKey:
		if c.PublicKey == nil {
			return fmt.Errorf("%w: empty public key identifier", ErrMissingVerificationMaterial)
		}
	case *protobundle.VerificationMaterial_Certificate:
		if err := b.parseCertificate(c.Certificate); err != nil {
			return err
		}
	case *protobundle.VerificationMaterial_X509CertificateChain:
		if semver.Compare(b.version, "v0.3") >= 0 {
			return fmt.Errorf("%w: bundle v0.3 must carry a leaf certificate, not a certificate chain", ErrInvalid)
		}
		// Only the leaf counts: chains are completed from the trusted root.
		certs := c.X509CertificateChain.GetCertificates()
		if len(certs) == 0 {
			return fmt.Errorf("%w: empty certificate chain", ErrMissingVerificationMaterial)
		}
		if err := b.parseCertificate(certs[0]); err != nil {
			return err
		}
	default:
		return ErrMissingVerificationMaterial
	}

	if n := len(vm.GetTimestampVerificationData().GetRfc3161Timestamps()); n > MaxTimestamps {
		return fmt.Errorf("%w: too many RFC 3161 timestamps: %d > %d", ErrInvalid, n, MaxTimestamps)
	}
	entries := vm.GetTlogEntries()
	if len(entries) > MaxTlogEntries {
		return fmt.Errorf("%w: too many tlog entries: %d > %d", ErrInvalid, len(entries), MaxTlogEntries)
	}
	var promise, proof bool
	for i, e := range entries {
		te, err := parseTlogEntry(e)
		if err != nil {
			return fmt.Errorf("%w %d: %w", ErrInvalidTlogEntry, i, err)
		}
		promise = promise || te.HasInclusionPromise()
		proof = proof || te.HasInclusionProof()
		b.tlogEntries = append(b.tlogEntries, te)
	}
	if len(entries) > 0 {
		if semver.Compare(b.version, "v0.1") == 0 && !promise {
			return fmt.Errorf("%w: bundle v0.1 requires an inclusion promise", ErrInvalidTlogEntry)
		}
		if semver.Compare(b.version, "v0.1") > 0 && !proof {
			return fmt.Errorf("%w: bundle %s requires an inclusion proof", ErrInvalidTlogEntry, b.version)
		}
	}
	return nil
}

func (b *Bundle) parseCertificate(c *protocommon.X509Certificate) error {
	if c.GetRawBytes() == nil {
		return fmt.Errorf("%w: empty certificate", ErrMissingVerificationMaterial)
	}
	cert, err := parseCertificate(c.GetRawBytes())
	if err != nil {
		return fmt.Errorf("%w: certificate: %w", ErrInvalid, err)
	}
	b.certificate = cert
	return nil
}

// Proto returns the underlying protobuf message. Callers must not modify it.
func (b *Bundle) Proto() *protobundle.Bundle { return b.pb }

// Version returns the bundle version, e.g. "v0.3".
func (b *Bundle) Version() string { return b.version }

// MediaType returns the bundle's media type.
func (b *Bundle) MediaType() string { return b.pb.GetMediaType() }

// Certificate returns the signing (leaf) certificate, or nil when the bundle
// is signed with a public key. Bundles carrying the same certificate may
// share it: callers must not modify it.
func (b *Bundle) Certificate() *x509.Certificate { return b.certificate }

// PublicKeyHint returns the public key hint and true when the bundle is
// signed with a public key rather than a certificate.
func (b *Bundle) PublicKeyHint() (string, bool) {
	pk, ok := b.pb.GetVerificationMaterial().GetContent().(*protobundle.VerificationMaterial_PublicKey)
	if !ok {
		return "", false
	}
	return pk.PublicKey.GetHint(), true
}

// MessageSignature returns the message signature, or nil for a DSSE bundle.
func (b *Bundle) MessageSignature() *protocommon.MessageSignature {
	return b.pb.GetMessageSignature()
}

// Envelope returns the DSSE envelope, or nil for a message-signature bundle.
func (b *Bundle) Envelope() *protodsse.Envelope { return b.pb.GetDsseEnvelope() }

// Signature returns the signature bytes: the message signature, or the
// first DSSE signature (nil when the envelope has none).
func (b *Bundle) Signature() []byte {
	if ms := b.pb.GetMessageSignature(); ms != nil {
		return ms.GetSignature()
	}
	sigs := b.pb.GetDsseEnvelope().GetSignatures()
	if len(sigs) == 0 {
		return nil
	}
	return sigs[0].GetSig()
}

// Timestamps returns the DER-encoded RFC 3161 timestamp responses.
func (b *Bundle) Timestamps() [][]byte {
	var out [][]byte
	for _, ts := range b.pb.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps() {
		out = append(out, ts.GetSignedTimestamp())
	}
	return out
}

// TlogEntries returns the parsed transparency log entries.
func (b *Bundle) TlogEntries() []*TlogEntry { return b.tlogEntries }
