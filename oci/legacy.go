package oci

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"

	"github.com/signetproject/signet/bundle"
)

// Annotations of legacy signature and attestation layers, as cosign
// (pkg/oci/static) writes them.
const (
	AnnotationSignature        = "dev.cosignproject.cosign/signature"
	AnnotationCertificate      = "dev.sigstore.cosign/certificate"
	AnnotationChain            = "dev.sigstore.cosign/chain"
	AnnotationBundle           = "dev.sigstore.cosign/bundle"
	AnnotationRFC3161Timestamp = "dev.sigstore.cosign/rfc3161timestamp"
	AnnotationPredicateType    = "predicateType"
)

// maxLayers bounds the layers of a .sig/.att image, as cosign does.
const maxLayers = 1000

// Layer is one signature or attestation of the legacy layout: the layer
// blob (simple-signing payload or DSSE envelope JSON), its media type and
// the descriptor annotations that carry the signature and evidence.
type Layer struct {
	MediaType   string
	Payload     []byte
	Annotations map[string]string
}

// SignatureLayer makes the legacy layer for a simple-signing payload from
// the message-signature bundle that signs it (sign.Blob over the payload).
// The certificate, the first RFC 3161 timestamp and a Rekor v1 entry with a
// signed entry timestamp become annotations. Rekor v2 entries have no
// place in this layout (cosign's bundle annotation holds a v1 SET), so
// they are left out: verifiers then rely on the timestamp.
func SignatureLayer(payload []byte, b *bundle.Bundle) (*Layer, error) {
	ms := b.MessageSignature()
	if ms == nil {
		return nil, errors.New("legacy signature: bundle has no message signature")
	}
	sum := sha256.Sum256(payload)
	if ms.GetMessageDigest().GetAlgorithm() != protocommon.HashAlgorithm_SHA2_256 ||
		!bytes.Equal(ms.GetMessageDigest().GetDigest(), sum[:]) {
		return nil, errors.New("legacy signature: bundle does not sign the SHA-256 of the payload")
	}
	ann, err := evidenceAnnotations(b)
	if err != nil {
		return nil, fmt.Errorf("legacy signature: %w", err)
	}
	ann[AnnotationSignature] = base64.StdEncoding.EncodeToString(ms.GetSignature())
	return &Layer{MediaType: MediaTypeSimpleSigning, Payload: payload, Annotations: ann}, nil
}

// AttestationLayer makes the legacy layer for a DSSE bundle: the envelope
// JSON with media type application/vnd.dsse.envelope.v1+json, annotation
// predicateType and the evidence annotations (see SignatureLayer).
func AttestationLayer(b *bundle.Bundle, predicateType string) (*Layer, error) {
	env := b.Envelope()
	if env == nil {
		return nil, errors.New("legacy attestation: bundle has no DSSE envelope")
	}
	payload, err := json.Marshal(envelopeJSONFrom(env))
	if err != nil {
		return nil, fmt.Errorf("legacy attestation: %w", err)
	}
	ann, err := evidenceAnnotations(b)
	if err != nil {
		return nil, fmt.Errorf("legacy attestation: %w", err)
	}
	// cosign's static.NewAttestation writes an empty signature annotation.
	ann[AnnotationSignature] = ""
	ann[AnnotationPredicateType] = predicateType
	return &Layer{MediaType: MediaTypeDSSE, Payload: payload, Annotations: ann}, nil
}

func evidenceAnnotations(b *bundle.Bundle) (map[string]string, error) {
	ann := map[string]string{}
	if cert := b.Certificate(); cert != nil {
		ann[AnnotationCertificate] = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
		// Bundles v0.3 carry the leaf only; cosign v3 then writes an empty
		// chain, and verifiers take the chain from the trusted root.
		ann[AnnotationChain] = ""
	}
	if ts := b.Timestamps(); len(ts) > 0 {
		v, err := json.Marshal(rfc3161JSON{SignedRFC3161Timestamp: ts[0]})
		if err != nil {
			return nil, err
		}
		ann[AnnotationRFC3161Timestamp] = string(v)
	}
	for _, e := range b.TlogEntries() {
		if !e.HasInclusionPromise() {
			continue // Rekor v2: no SET to carry
		}
		p := e.Proto
		v, err := json.Marshal(rekorBundleJSON{
			SignedEntryTimestamp: p.GetInclusionPromise().GetSignedEntryTimestamp(),
			Payload: rekorPayloadJSON{
				Body:           base64.StdEncoding.EncodeToString(p.GetCanonicalizedBody()),
				IntegratedTime: p.GetIntegratedTime(),
				LogIndex:       p.GetLogIndex(),
				LogID:          hex.EncodeToString(p.GetLogId().GetKeyId()),
			},
		})
		if err != nil {
			return nil, err
		}
		ann[AnnotationBundle] = string(v)
		break
	}
	return ann, nil
}

// rfc3161JSON is cosign's bundle.RFC3161Timestamp.
type rfc3161JSON struct {
	SignedRFC3161Timestamp []byte
}

// rekorBundleJSON is cosign's bundle.RekorBundle: a Rekor v1 entry and its
// signed entry timestamp.
type rekorBundleJSON struct {
	SignedEntryTimestamp []byte
	Payload              rekorPayloadJSON
}

type rekorPayloadJSON struct {
	Body           string `json:"body"` // base64 of the canonicalized entry
	IntegratedTime int64  `json:"integratedTime"`
	LogIndex       int64  `json:"logIndex"`
	LogID          string `json:"logID"` // hex
}

// envelopeJSON is a DSSE envelope in its JSON form.
type envelopeJSON struct {
	Payload     []byte          `json:"payload"`
	PayloadType string          `json:"payloadType"`
	Signatures  []signatureJSON `json:"signatures"`
}

type signatureJSON struct {
	KeyID string `json:"keyid,omitempty"`
	Sig   []byte `json:"sig"`
}

func envelopeJSONFrom(env *protodsse.Envelope) envelopeJSON {
	e := envelopeJSON{Payload: env.GetPayload(), PayloadType: env.GetPayloadType()}
	for _, s := range env.GetSignatures() {
		e.Signatures = append(e.Signatures, signatureJSON{KeyID: s.GetKeyid(), Sig: s.GetSig()})
	}
	return e
}

// ParseEnvelope parses a DSSE envelope (JSON) strictly: the fields
// payload, payloadType and signatures[{keyid, sig}] only, base64 values,
// at least one signature.
func ParseEnvelope(data []byte) (*protodsse.Envelope, error) {
	if len(data) > maxPayloadSize {
		return nil, fmt.Errorf("DSSE envelope: %d bytes is too large", len(data))
	}
	var e envelopeJSON
	if err := decodeStrict(data, &e); err != nil {
		return nil, fmt.Errorf("DSSE envelope: %w", err)
	}
	switch {
	case e.PayloadType == "":
		return nil, errors.New("DSSE envelope: missing payloadType")
	case e.Payload == nil:
		return nil, errors.New("DSSE envelope: missing payload")
	case len(e.Signatures) == 0:
		return nil, errors.New("DSSE envelope: no signatures")
	}
	env := &protodsse.Envelope{Payload: e.Payload, PayloadType: e.PayloadType}
	for i, s := range e.Signatures {
		if len(s.Sig) == 0 {
			return nil, fmt.Errorf("DSSE envelope: signature %d is empty", i)
		}
		env.Signatures = append(env.Signatures, &protodsse.Signature{Keyid: s.KeyID, Sig: s.Sig})
	}
	return env, nil
}

// Bundle turns a legacy layer into the Sigstore bundle that carries the
// same signature and evidence, so that verify.Verifier can check it:
//
//   - simple-signing layers become a message signature over the SHA-256
//     of the payload (verify it with the payload as the artifact);
//   - DSSE layers become a DSSE bundle (verify it against the image
//     digest);
//   - the certificate annotation becomes the verification material (no
//     certificate: a public key, which the policy must supply);
//   - the RFC 3161 timestamp annotation becomes a signed timestamp;
//   - a Rekor v1 SET bundle annotation becomes a transparency log entry
//     with an inclusion promise (bundle v0.1, which allows promises only).
//
// Annotations are parsed strictly; any malformed one is an error.
func (l *Layer) Bundle() (*bundle.Bundle, error) {
	pb := &protobundle.Bundle{MediaType: bundle.MediaType03, VerificationMaterial: &protobundle.VerificationMaterial{}}
	switch l.MediaType {
	case MediaTypeSimpleSigning:
		sig, err := annotationBase64(l.Annotations, AnnotationSignature)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(l.Payload)
		pb.Content = &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: sum[:]},
			Signature:     sig,
		}}
	case MediaTypeDSSE:
		env, err := ParseEnvelope(l.Payload)
		if err != nil {
			return nil, fmt.Errorf("legacy attestation layer: %w", err)
		}
		pb.Content = &protobundle.Bundle_DsseEnvelope{DsseEnvelope: env}
	default:
		return nil, fmt.Errorf("legacy layer: unsupported media type %q", l.MediaType)
	}

	vm := pb.VerificationMaterial
	certs, err := l.certificates()
	if err != nil {
		return nil, err
	}
	if certs == nil {
		vm.Content = &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{}}
	} else {
		vm.Content = &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: certs[0].Raw}}
	}
	if v, ok := l.Annotations[AnnotationRFC3161Timestamp]; ok {
		ts, err := parseRFC3161Annotation(v)
		if err != nil {
			return nil, fmt.Errorf("annotation %s: %w", AnnotationRFC3161Timestamp, err)
		}
		vm.TimestampVerificationData = &protobundle.TimestampVerificationData{
			Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: ts}},
		}
	}
	if v, ok := l.Annotations[AnnotationBundle]; ok {
		e, err := parseRekorBundle(v)
		if err != nil {
			return nil, fmt.Errorf("annotation %s: %w", AnnotationBundle, err)
		}
		if e != nil {
			vm.TlogEntries = []*protorekor.TransparencyLogEntry{e}
			pb.MediaType = bundle.MediaType01
			if certs != nil {
				chain := &protocommon.X509CertificateChain{}
				for _, c := range certs {
					chain.Certificates = append(chain.Certificates, &protocommon.X509Certificate{RawBytes: c.Raw})
				}
				vm.Content = &protobundle.VerificationMaterial_X509CertificateChain{X509CertificateChain: chain}
			}
		}
	}
	b, err := bundle.FromProto(pb)
	if err != nil {
		return nil, fmt.Errorf("legacy layer: %w", err)
	}
	return b, nil
}

// certificates returns the leaf and chain from the annotations, or nil
// when the layer has no certificate (key-signed).
func (l *Layer) certificates() ([]*x509.Certificate, error) {
	leafPEM, ok := l.Annotations[AnnotationCertificate]
	if !ok || leafPEM == "" {
		if l.Annotations[AnnotationChain] != "" {
			return nil, fmt.Errorf("annotation %s without %s", AnnotationChain, AnnotationCertificate)
		}
		return nil, nil
	}
	leaf, err := parsePEMCertificates(leafPEM)
	if err != nil {
		return nil, fmt.Errorf("annotation %s: %w", AnnotationCertificate, err)
	}
	if len(leaf) != 1 {
		return nil, fmt.Errorf("annotation %s: %d certificates, want one", AnnotationCertificate, len(leaf))
	}
	chain, err := parsePEMCertificates(l.Annotations[AnnotationChain])
	if err != nil {
		return nil, fmt.Errorf("annotation %s: %w", AnnotationChain, err)
	}
	return append(leaf, chain...), nil
}

// parsePEMCertificates parses zero or more PEM CERTIFICATE blocks and
// nothing else but whitespace.
func parsePEMCertificates(s string) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := []byte(s)
	for {
		rest = bytes.TrimSpace(rest)
		if len(rest) == 0 {
			return certs, nil
		}
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("not PEM")
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %q, want CERTIFICATE", block.Type)
		}
		if len(block.Headers) != 0 {
			return nil, errors.New("PEM headers are not allowed")
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		if len(certs) >= 10 {
			return nil, errors.New("too many certificates")
		}
		certs = append(certs, c)
	}
}

func annotationBase64(ann map[string]string, key string) ([]byte, error) {
	v, ok := ann[key]
	if !ok || v == "" {
		return nil, fmt.Errorf("legacy signature layer: missing annotation %s", key)
	}
	b, err := base64.StdEncoding.Strict().DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("annotation %s: %w", key, err)
	}
	return b, nil
}

// parseRFC3161Annotation returns the DER timestamp in cosign's
// rfc3161timestamp annotation ({"SignedRFC3161Timestamp": base64}).
func parseRFC3161Annotation(v string) ([]byte, error) {
	var ts rfc3161JSON
	if err := decodeStrict([]byte(v), &ts); err != nil {
		return nil, err
	}
	if len(ts.SignedRFC3161Timestamp) == 0 {
		return nil, errors.New("empty timestamp")
	}
	return ts.SignedRFC3161Timestamp, nil
}

// parseRekorBundle turns cosign's bundle annotation into a log entry with
// an inclusion promise. It returns nil for an annotation without a signed
// entry timestamp, which cosign v3 writes for Rekor v2 entries and which
// proves nothing.
func parseRekorBundle(v string) (*protorekor.TransparencyLogEntry, error) {
	var rb struct {
		SignedEntryTimestamp []byte
		Payload              *struct {
			Body           *string `json:"body"`
			IntegratedTime *int64  `json:"integratedTime"`
			LogIndex       *int64  `json:"logIndex"`
			LogID          *string `json:"logID"`
		}
	}
	if err := decodeStrict([]byte(v), &rb); err != nil {
		return nil, err
	}
	if len(rb.SignedEntryTimestamp) == 0 {
		return nil, nil
	}
	p := rb.Payload
	if p == nil || p.Body == nil || p.IntegratedTime == nil || p.LogIndex == nil || p.LogID == nil {
		return nil, errors.New("incomplete Payload: want body, integratedTime, logIndex and logID")
	}
	body, err := base64.StdEncoding.Strict().DecodeString(*p.Body)
	if err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	logID, err := hex.DecodeString(*p.LogID)
	if err != nil || len(logID) != sha256.Size {
		return nil, fmt.Errorf("logID %q is not a hex SHA-256", *p.LogID)
	}
	var kind struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(body, &kind); err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	return &protorekor.TransparencyLogEntry{
		LogIndex:          *p.LogIndex,
		LogId:             &protocommon.LogId{KeyId: logID},
		KindVersion:       &protorekor.KindVersion{Kind: kind.Kind, Version: kind.APIVersion},
		IntegratedTime:    *p.IntegratedTime,
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: rb.SignedEntryTimestamp},
		CanonicalizedBody: body,
	}, nil
}
