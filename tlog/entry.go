package tlog

//lint:file-ignore SA1019 Rekor v2 dsse v0.0.2 entries are deprecated upstream but signet still accepts them (issue 4)

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	commonv1 "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorv1 "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"google.golang.org/protobuf/encoding/protojson"
)

// Entry kinds and the API version of the Rekor v2 entries this log writes.
const (
	KindHashedRekord = "hashedrekord"
	KindDSSE         = "dsse"
	APIVersion       = "0.0.2"
)

const (
	// MaxRequestSize is the largest create-entry request body accepted, as in
	// rekor-tiles (4 MiB). A DSSE request carries the whole envelope, so it
	// may be much larger than the entry it becomes.
	MaxRequestSize = 4 << 20
	// MaxEntrySize is the largest canonicalized entry the log stores: the
	// C2SP tlog-tiles limit on an entry in an entry bundle.
	MaxEntrySize = 1<<16 - 1

	// maxDSSEVerifiers and maxDSSESignatures bound the work one DSSE request
	// can cause, as in rekor-tiles.
	maxDSSEVerifiers  = 10
	maxDSSESignatures = 10
)

// DecodeCreateEntryRequest decodes the JSON body of a Rekor v2
// POST /api/v2/log/entries request. Unknown fields are rejected, as by
// rekor-tiles. Errors wrap [ErrMalformedRequest] or [ErrEntryTooLarge].
func DecodeCreateEntryRequest(body []byte) (*rekorpb.CreateEntryRequest, error) {
	if len(body) > MaxRequestSize {
		return nil, fmt.Errorf("request of %d bytes exceeds %d: %w", len(body), MaxRequestSize, ErrEntryTooLarge)
	}
	if req, ok := decodeCreateEntryRequestFast(body); ok {
		return req, nil
	}
	req := &rekorpb.CreateEntryRequest{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(body, req); err != nil {
		return nil, fmt.Errorf("decode create entry request: %v: %w", err, ErrMalformedRequest)
	}
	return req, nil
}

// NewEntry validates a create-entry request, verifies its signatures with the
// key or certificate it carries and returns the log entry rekor-tiles writes
// for it. allowed lists the accepted client signing algorithms; nil means
// [DefaultAlgorithms]. Errors wrap [ErrInvalidRequest].
func NewEntry(req *rekorpb.CreateEntryRequest, allowed []commonv1.PublicKeyDetails) (*rekorpb.Entry, error) {
	algs, err := newAlgorithmSet(allowed)
	if err != nil {
		return nil, fmt.Errorf("new entry: %w", err)
	}
	return algs.newEntry(req, false)
}

// newEntry is NewEntry. With shared, the entry's byte fields share the
// request's arrays instead of copies: for an entry that is canonicalized
// and dropped while the request is still held ([Log.Append]).
func (s algorithmSet) newEntry(req *rekorpb.CreateEntryRequest, shared bool) (*rekorpb.Entry, error) {
	clone := bytes.Clone
	if shared {
		clone = func(b []byte) []byte { return b }
	}
	switch spec := req.GetSpec().(type) {
	case *rekorpb.CreateEntryRequest_HashedRekordRequestV002:
		e, err := s.hashedRekordEntry(spec.HashedRekordRequestV002, clone)
		if err != nil {
			return nil, fmt.Errorf("hashedrekord v%s: %w", APIVersion, err)
		}
		return e, nil
	case *rekorpb.CreateEntryRequest_DsseRequestV002:
		e, err := s.dsseEntry(spec.DsseRequestV002, clone) //nolint:staticcheck // dsse v0.0.2 is deprecated upstream but still accepted here
		if err != nil {
			return nil, fmt.Errorf("dsse v%s: %w", APIVersion, err)
		}
		return e, nil
	case nil:
		return nil, fmt.Errorf("request has no entry spec: %w", ErrMalformedRequest)
	default:
		return nil, fmt.Errorf("request spec %T: %w", spec, ErrUnsupportedEntry)
	}
}

// hashedRekordEntry validates and verifies a hashedrekord v0.0.2 request.
func (s algorithmSet) hashedRekordEntry(hr *rekorpb.HashedRekordRequestV002, clone func([]byte) []byte) (*rekorpb.Entry, error) {
	sig := hr.GetSignature()
	if sig == nil || len(sig.GetContent()) == 0 {
		return nil, fmt.Errorf("missing signature: %w", ErrMalformedRequest)
	}
	if len(hr.GetDigest()) == 0 {
		return nil, fmt.Errorf("missing digest: %w", ErrMalformedRequest)
	}
	sv, err := s.parseVerifier(sig.GetVerifier())
	if err != nil {
		return nil, err
	}
	if err := sv.verifyDigest(hr.GetDigest(), sig.GetContent()); err != nil {
		return nil, fmt.Errorf("verify signature over digest: %w", err)
	}
	return &rekorpb.Entry{
		Kind:       KindHashedRekord,
		ApiVersion: APIVersion,
		Spec: &rekorpb.Spec{Spec: &rekorpb.Spec_HashedRekordV002{HashedRekordV002: &rekorpb.HashedRekordLogEntryV002{
			Data:      &commonv1.HashOutput{Algorithm: sv.alg.protoHash, Digest: clone(hr.GetDigest())},
			Signature: cloneSignature(sig.GetContent(), sig.GetVerifier(), clone),
		}}},
	}, nil
}

// dsseEntry validates a dsse v0.0.2 request and verifies every envelope
// signature over the DSSE pre-authentication encoding. Each signature must
// verify with one of the request's verifiers and each verifier must verify a
// signature. The entry records the SHA-256 of the payload and the distinct
// signatures, sorted by their raw bytes, each with the verifier that verified
// it, as rekor-tiles v2.2 did.
//
//nolint:staticcheck // dsse v0.0.2 is deprecated upstream but still accepted here
func (s algorithmSet) dsseEntry(ds *rekorpb.DSSERequestV002, clone func([]byte) []byte) (*rekorpb.Entry, error) {
	env := ds.GetEnvelope()
	if env == nil {
		return nil, fmt.Errorf("missing envelope: %w", ErrMalformedRequest)
	}
	switch n := len(ds.GetVerifiers()); {
	case n == 0:
		return nil, fmt.Errorf("missing verifiers: %w", ErrMalformedRequest)
	case n > maxDSSEVerifiers:
		return nil, fmt.Errorf("%d verifiers, at most %d allowed: %w", n, maxDSSEVerifiers, ErrMalformedRequest)
	}
	switch n := len(env.GetSignatures()); {
	case n == 0:
		return nil, fmt.Errorf("envelope missing signatures: %w", ErrMalformedRequest)
	case n > maxDSSESignatures:
		return nil, fmt.Errorf("%d signatures, at most %d allowed: %w", n, maxDSSESignatures, ErrMalformedRequest)
	}
	for i, sig := range env.GetSignatures() {
		if len(sig.GetSig()) == 0 {
			return nil, fmt.Errorf("envelope signature %d empty: %w", i, ErrMalformedRequest)
		}
	}
	signers := make([]signer, len(ds.GetVerifiers()))
	for i, v := range ds.GetVerifiers() {
		sv, err := s.parseVerifier(v)
		if err != nil {
			return nil, fmt.Errorf("verifier %d: %w", i, err)
		}
		signers[i] = sv
	}

	pae := PAE(env.GetPayloadType(), env.GetPayload())
	used := make([]bool, len(signers))
	verified := make(map[string]*rekorpb.Verifier, len(env.GetSignatures()))
	for i, sig := range env.GetSignatures() {
		if _, done := verified[string(sig.GetSig())]; done {
			continue // identical signatures are recorded once
		}
		for j, sv := range signers {
			if sv.verifyMessage(pae, sig.GetSig()) == nil {
				verified[string(sig.GetSig())] = ds.GetVerifiers()[j]
				used[j] = true
				break
			}
		}
		if _, ok := verified[string(sig.GetSig())]; !ok {
			return nil, fmt.Errorf("envelope signature %d verifies with no verifier: %w", i, ErrInvalidSignature)
		}
	}
	for j, u := range used {
		if !u {
			return nil, fmt.Errorf("verifier %d verifies no envelope signature: %w", j, ErrInvalidSignature)
		}
	}

	sorted := make([]string, 0, len(verified))
	for sig := range verified {
		sorted = append(sorted, sig)
	}
	slices.Sort(sorted)
	sigs := make([]*rekorpb.Signature, 0, len(sorted))
	for _, sig := range sorted {
		sigs = append(sigs, cloneSignature([]byte(sig), verified[sig], clone))
	}
	payloadHash := sha256.Sum256(env.GetPayload())
	return &rekorpb.Entry{
		Kind:       KindDSSE,
		ApiVersion: APIVersion,
		Spec: &rekorpb.Spec{Spec: &rekorpb.Spec_DsseV002{DsseV002: &rekorpb.DSSELogEntryV002{
			PayloadHash: &commonv1.HashOutput{Algorithm: commonv1.HashAlgorithm_SHA2_256, Digest: payloadHash[:]},
			Signatures:  sigs,
		}}},
	}, nil
}

// cloneSignature copies the fields of a request signature that belong in the
// log entry, dropping anything else the request message carries; clone
// copies the bytes (or shares them, see newEntry).
func cloneSignature(content []byte, v *rekorpb.Verifier, clone func([]byte) []byte) *rekorpb.Signature {
	out := &rekorpb.Verifier{KeyDetails: v.GetKeyDetails()}
	switch m := v.GetVerifier().(type) {
	case *rekorpb.Verifier_PublicKey:
		out.Verifier = &rekorpb.Verifier_PublicKey{PublicKey: &rekorpb.PublicKey{RawBytes: clone(m.PublicKey.GetRawBytes())}}
	case *rekorpb.Verifier_X509Certificate:
		out.Verifier = &rekorpb.Verifier_X509Certificate{X509Certificate: &commonv1.X509Certificate{RawBytes: clone(m.X509Certificate.GetRawBytes())}}
	}
	return &rekorpb.Signature{Content: clone(content), Verifier: out}
}

// PAE returns the DSSE v1 pre-authentication encoding of a payload, the
// message that DSSE signatures sign.
func PAE(payloadType string, payload []byte) []byte {
	return fmt.Appendf(nil, "DSSEv1 %d %s %d %s", len(payloadType), payloadType, len(payload), payload)
}

// CanonicalBody returns the leaf the log stores for an entry: the RFC 8785
// canonical form of its protobuf JSON encoding, as rekor-tiles writes it.
func CanonicalBody(e *rekorpb.Entry) ([]byte, error) {
	if body, ok := appendEntryJSON(make([]byte, 0, entrySizeHint(e)), e); ok {
		return body, nil
	}
	return canonicalBodyGeneral(e)
}

// canonicalBodyGeneral is CanonicalBody through protojson and the RFC
// 8785 canonicalizer, for any entry.
func canonicalBodyGeneral(e *rekorpb.Entry) ([]byte, error) {
	js, err := protojson.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("marshal entry: %w", err)
	}
	body, err := jsoncanonicalizer.Transform(js)
	if err != nil {
		return nil, fmt.Errorf("canonicalize entry: %w", err)
	}
	return body, nil
}

// ParseEntry decodes a canonicalized entry body read back from the log and
// checks that its kind and API version match its spec.
func ParseEntry(body []byte) (*rekorpb.Entry, error) {
	e, ok := decodeEntryFast(body)
	if !ok {
		e = &rekorpb.Entry{}
		if err := protojson.Unmarshal(body, e); err != nil {
			return nil, fmt.Errorf("decode entry: %v: %w", err, ErrMalformedRequest)
		}
	}
	var kind string
	switch e.GetSpec().GetSpec().(type) {
	case *rekorpb.Spec_HashedRekordV002:
		kind = KindHashedRekord
	case *rekorpb.Spec_DsseV002:
		kind = KindDSSE
	default:
		return nil, fmt.Errorf("entry has no known spec: %w", ErrUnsupportedEntry)
	}
	if e.GetKind() != kind || e.GetApiVersion() != APIVersion {
		return nil, fmt.Errorf("entry %s/%s does not match its %s v%s spec: %w", e.GetKind(), e.GetApiVersion(), kind, APIVersion, ErrUnsupportedEntry)
	}
	return e, nil
}

// KindVersion returns the kind and version of an entry as a
// TransparencyLogEntry reports them.
func KindVersion(e *rekorpb.Entry) *rekorv1.KindVersion {
	return &rekorv1.KindVersion{Kind: e.GetKind(), Version: e.GetApiVersion()}
}
