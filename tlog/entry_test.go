package tlog

//lint:file-ignore SA1019 Rekor v2 dsse v0.0.2 entries are deprecated upstream but signet still accepts them (issue 4)

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	commonv1 "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	dssepb "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"github.com/sigstore/rekor-tiles/v2/pkg/types/hashedrekord"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/merkle/rfc6962"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

func hr(req *rekorpb.CreateEntryRequest) *rekorpb.HashedRekordRequestV002 {
	return req.GetHashedRekordRequestV002()
}

//nolint:staticcheck // dsse v0.0.2 is deprecated upstream but accepted here
func ds(req *rekorpb.CreateEntryRequest) *rekorpb.DSSERequestV002 {
	return req.GetDsseRequestV002()
}

func TestNewEntryErrors(t *testing.T) {
	s := newTestSigner(t)
	other := newTestSigner(t)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384DER, err := x509.MarshalPKIXPublicKey(p384.Public())
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edDER, err := x509.MarshalPKIXPublicKey(edPub)
	if err != nil {
		t.Fatal(err)
	}
	hashed := s.HashedRekord(t, []byte("artifact"), s.CertVerifier())
	env := s.Envelope(t, "application/vnd.in-toto+json", []byte(`{"_type":"https://in-toto.io/Statement/v1"}`))
	dsse := dsseRequest(env, s.CertVerifier())

	tests := []struct {
		name    string
		base    *rekorpb.CreateEntryRequest
		mutate  func(*rekorpb.CreateEntryRequest)
		allowed []commonv1.PublicKeyDetails
		want    error
	}{
		{name: "no spec", base: &rekorpb.CreateEntryRequest{}, want: ErrMalformedRequest},
		{name: "hashedrekord valid", base: hashed},
		{name: "hashedrekord public key valid", base: s.HashedRekord(t, []byte("a"), s.KeyVerifier())},
		{name: "hashedrekord missing signature", base: hashed, mutate: func(r *rekorpb.CreateEntryRequest) { hr(r).Signature = nil }, want: ErrMalformedRequest},
		{name: "hashedrekord empty signature", base: hashed, mutate: func(r *rekorpb.CreateEntryRequest) { hr(r).Signature.Content = nil }, want: ErrMalformedRequest},
		{name: "hashedrekord missing digest", base: hashed, mutate: func(r *rekorpb.CreateEntryRequest) { hr(r).Digest = nil }, want: ErrMalformedRequest},
		{name: "hashedrekord short digest", base: hashed, mutate: func(r *rekorpb.CreateEntryRequest) { hr(r).Digest = hr(r).Digest[:20] }, want: ErrMalformedRequest},
		{name: "hashedrekord missing verifier", base: hashed, mutate: func(r *rekorpb.CreateEntryRequest) { hr(r).Signature.Verifier = nil }, want: ErrMalformedRequest},
		{name: "hashedrekord verifier without key", base: hashed, mutate: func(r *rekorpb.CreateEntryRequest) { hr(r).Signature.Verifier.Verifier = nil }, want: ErrMalformedRequest},
		{name: "hashedrekord empty certificate", base: hashed, mutate: func(r *rekorpb.CreateEntryRequest) {
			hr(r).Signature.Verifier.GetX509Certificate().RawBytes = nil
		}, want: ErrMalformedRequest},
		{name: "hashedrekord garbage certificate", base: hashed, mutate: func(r *rekorpb.CreateEntryRequest) {
			hr(r).Signature.Verifier.GetX509Certificate().RawBytes = []byte("not a certificate")
		}, want: ErrMalformedRequest},
		{name: "hashedrekord garbage public key", base: hashed, mutate: func(r *rekorpb.CreateEntryRequest) {
			hr(r).Signature.Verifier.Verifier = &rekorpb.Verifier_PublicKey{PublicKey: &rekorpb.PublicKey{RawBytes: []byte{0x30, 0x00}}}
		}, want: ErrMalformedRequest},
		{name: "hashedrekord unspecified key details", base: hashed, mutate: func(r *rekorpb.CreateEntryRequest) {
			hr(r).Signature.Verifier.KeyDetails = commonv1.PublicKeyDetails_PUBLIC_KEY_DETAILS_UNSPECIFIED
		}, want: ErrUnsupportedAlgorithm},
		{name: "hashedrekord RSA PSS not accepted", base: hashed, mutate: func(r *rekorpb.CreateEntryRequest) {
			hr(r).Signature.Verifier.KeyDetails = commonv1.PublicKeyDetails_PKIX_RSA_PSS_2048_SHA256
		}, want: ErrUnsupportedAlgorithm},
		{name: "hashedrekord key details do not match key", base: hashed, mutate: func(r *rekorpb.CreateEntryRequest) {
			hr(r).Signature.Verifier.KeyDetails = commonv1.PublicKeyDetails_PKIX_ECDSA_P384_SHA_384
		}, want: ErrUnsupportedAlgorithm},
		{name: "hashedrekord P-384 key with P-256 details", base: hashed, mutate: func(r *rekorpb.CreateEntryRequest) {
			hr(r).Signature.Verifier.Verifier = &rekorpb.Verifier_PublicKey{PublicKey: &rekorpb.PublicKey{RawBytes: p384DER}}
		}, want: ErrUnsupportedAlgorithm},
		{name: "hashedrekord pure Ed25519 cannot sign a digest", base: hashed, mutate: func(r *rekorpb.CreateEntryRequest) {
			hr(r).Signature.Verifier = &rekorpb.Verifier{
				Verifier:   &rekorpb.Verifier_PublicKey{PublicKey: &rekorpb.PublicKey{RawBytes: edDER}},
				KeyDetails: commonv1.PublicKeyDetails_PKIX_ED25519,
			}
		}, want: ErrUnsupportedAlgorithm},
		{name: "hashedrekord algorithm not allowed", base: hashed, allowed: []commonv1.PublicKeyDetails{commonv1.PublicKeyDetails_PKIX_ED25519_PH}, want: ErrUnsupportedAlgorithm},
		{name: "hashedrekord signature by another key", base: hashed, mutate: func(r *rekorpb.CreateEntryRequest) {
			hr(r).Signature.Verifier = other.CertVerifier()
		}, want: ErrInvalidSignature},
		{name: "hashedrekord signature over another digest", base: hashed, mutate: func(r *rekorpb.CreateEntryRequest) {
			hr(r).Digest[0] ^= 1
		}, want: ErrInvalidSignature},
		{name: "hashedrekord garbage signature", base: hashed, mutate: func(r *rekorpb.CreateEntryRequest) {
			hr(r).Signature.Content = []byte("garbage")
		}, want: ErrInvalidSignature},

		{name: "dsse valid", base: dsse},
		{name: "dsse missing envelope", base: dsse, mutate: func(r *rekorpb.CreateEntryRequest) { ds(r).Envelope = nil }, want: ErrMalformedRequest},
		{name: "dsse missing verifiers", base: dsse, mutate: func(r *rekorpb.CreateEntryRequest) { ds(r).Verifiers = nil }, want: ErrMalformedRequest},
		{name: "dsse too many verifiers", base: dsse, mutate: func(r *rekorpb.CreateEntryRequest) {
			for range maxDSSEVerifiers {
				ds(r).Verifiers = append(ds(r).Verifiers, s.KeyVerifier())
			}
		}, want: ErrMalformedRequest},
		{name: "dsse no signatures", base: dsse, mutate: func(r *rekorpb.CreateEntryRequest) { ds(r).Envelope.Signatures = nil }, want: ErrMalformedRequest},
		{name: "dsse too many signatures", base: dsse, mutate: func(r *rekorpb.CreateEntryRequest) {
			for range maxDSSESignatures {
				ds(r).Envelope.Signatures = append(ds(r).Envelope.Signatures, &dssepb.Signature{Sig: []byte("x")})
			}
		}, want: ErrMalformedRequest},
		{name: "dsse empty signature", base: dsse, mutate: func(r *rekorpb.CreateEntryRequest) { ds(r).Envelope.Signatures[0].Sig = nil }, want: ErrMalformedRequest},
		{name: "dsse invalid verifier", base: dsse, mutate: func(r *rekorpb.CreateEntryRequest) { ds(r).Verifiers[0].Verifier = nil }, want: ErrMalformedRequest},
		{name: "dsse tampered payload", base: dsse, mutate: func(r *rekorpb.CreateEntryRequest) { ds(r).Envelope.Payload = []byte("{}") }, want: ErrInvalidSignature},
		{name: "dsse tampered payload type", base: dsse, mutate: func(r *rekorpb.CreateEntryRequest) { ds(r).Envelope.PayloadType = "text/plain" }, want: ErrInvalidSignature},
		{name: "dsse wrong verifier", base: dsse, mutate: func(r *rekorpb.CreateEntryRequest) { ds(r).Verifiers[0] = other.KeyVerifier() }, want: ErrInvalidSignature},
		{name: "dsse unused verifier", base: dsse, mutate: func(r *rekorpb.CreateEntryRequest) {
			ds(r).Verifiers = append(ds(r).Verifiers, other.KeyVerifier())
		}, want: ErrInvalidSignature},
		{name: "dsse unsupported algorithm", base: dsse, mutate: func(r *rekorpb.CreateEntryRequest) {
			ds(r).Verifiers[0].KeyDetails = commonv1.PublicKeyDetails_PKIX_RSA_PKCS1V15_2048_SHA256
		}, want: ErrUnsupportedAlgorithm},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := proto.Clone(tc.base).(*rekorpb.CreateEntryRequest)
			if tc.mutate != nil {
				tc.mutate(req)
			}
			_, err := NewEntry(req, tc.allowed)
			if diff := cmp.Diff(tc.want, err, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("NewEntry error mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
			if tc.want != nil && !errors.Is(err, ErrInvalidRequest) {
				t.Errorf("NewEntry error %v is not an ErrInvalidRequest", err)
			}
		})
	}
}

func TestNewEntryRejectsUnknownAlgorithmConfig(t *testing.T) {
	_, err := NewEntry(&rekorpb.CreateEntryRequest{}, []commonv1.PublicKeyDetails{commonv1.PublicKeyDetails_LMS_SHA256})
	if err == nil || errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("NewEntry with an unknown configured algorithm = %v, want a configuration error", err)
	}
}

func TestDecodeCreateEntryRequest(t *testing.T) {
	s := newTestSigner(t)
	valid, err := protojson.Marshal(s.HashedRekord(t, []byte("a"), s.KeyVerifier()))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		body []byte
		want error
	}{
		{name: "valid", body: valid},
		{name: "snake case field names", body: []byte(`{"hashed_rekord_request_v002":{"digest":"AAAA"}}`)},
		{name: "not json", body: []byte("hello"), want: ErrMalformedRequest},
		{name: "unknown field", body: []byte(`{"hashedRekordRequestV002":{"digest":"AAAA","extra":1}}`), want: ErrMalformedRequest},
		{name: "unknown kind", body: []byte(`{"intotoRequestV002":{}}`), want: ErrMalformedRequest},
		{name: "bad base64", body: []byte(`{"hashedRekordRequestV002":{"digest":"!!"}}`), want: ErrMalformedRequest},
		{name: "two kinds", body: []byte(`{"hashedRekordRequestV002":{},"dsseRequestV002":{}}`), want: ErrMalformedRequest},
		{name: "too large", body: []byte(`{"hashedRekordRequestV002":{"digest":"` + strings.Repeat("A", MaxRequestSize) + `"}}`), want: ErrEntryTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeCreateEntryRequest(tc.body)
			if diff := cmp.Diff(tc.want, err, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("DecodeCreateEntryRequest error mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

// TestCanonicalBodyHashedRekord pins the leaf format and checks it against
// rekor-tiles' own reconstruction, which sigstore-go uses to verify entries.
func TestCanonicalBodyHashedRekord(t *testing.T) {
	s := newTestSigner(t)
	for _, v := range []*rekorpb.Verifier{s.CertVerifier(), s.KeyVerifier()} {
		req := s.HashedRekord(t, []byte("artifact"), v)
		e, err := NewEntry(req, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, err := CanonicalBody(e)
		if err != nil {
			t.Fatal(err)
		}
		b64 := base64.StdEncoding.EncodeToString
		keyField := `"publicKey":{"rawBytes":"` + b64(s.PKIX) + `"}`
		if v.GetX509Certificate() != nil {
			keyField = `"x509Certificate":{"rawBytes":"` + b64(s.Cert.Raw) + `"}`
		}
		want := fmt.Sprintf(`{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{"hashedRekordV002":{"data":{"algorithm":"SHA2_256","digest":"%s"},"signature":{"content":"%s","verifier":{"keyDetails":"PKIX_ECDSA_P256_SHA_256",%s}}}}}`,
			b64(hr(req).Digest), b64(hr(req).Signature.Content), keyField)
		if diff := cmp.Diff(want, string(body)); diff != "" {
			t.Errorf("canonical body mismatch (-want +got):\n%s", diff)
		}

		// rekor-tiles' validation yields the same entry...
		reg, err := signature.NewAlgorithmRegistryConfig(DefaultAlgorithms)
		if err != nil {
			t.Fatal(err)
		}
		upstream, err := hashedrekord.ToLogEntry(hr(req), reg)
		if err != nil {
			t.Fatalf("rekor-tiles rejects the request: %v", err)
		}
		if diff := cmp.Diff(upstream, e, protocmp.Transform()); diff != "" {
			t.Errorf("entry differs from rekor-tiles (-rekor-tiles +signet):\n%s", diff)
		}
		// ...and the leaf hash sigstore-go reconstructs matches ours.
		leaf, err := hashedrekord.ToEntryHash(hr(req).Digest, hr(req).Signature)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(leaf, rfc6962.DefaultHasher.HashLeaf(body)); diff != "" {
			t.Errorf("leaf hash differs from rekor-tiles (-rekor-tiles +signet):\n%s", diff)
		}
	}
}

func TestCanonicalBodyDSSE(t *testing.T) {
	a, b := newTestSigner(t), newTestSigner(t)
	payload := []byte(`{"_type":"https://in-toto.io/Statement/v1"}`)
	env := a.Envelope(t, "application/vnd.in-toto+json", payload)
	env.Signatures = append(env.Signatures, b.Envelope(t, "application/vnd.in-toto+json", payload).Signatures[0], env.Signatures[0])
	e, err := NewEntry(dsseRequest(env, b.KeyVerifier(), a.CertVerifier()), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := CanonicalBody(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseEntry(body)
	if err != nil {
		t.Fatal(err)
	}
	sigA, sigB := env.Signatures[0].Sig, env.Signatures[1].Sig
	want := []*rekorpb.Signature{{Content: sigA, Verifier: a.CertVerifier()}, {Content: sigB, Verifier: b.KeyVerifier()}}
	if string(sigB) < string(sigA) {
		want[0], want[1] = want[1], want[0]
	}
	ph := sha256.Sum256(payload)
	wantEntry := &rekorpb.Entry{Kind: "dsse", ApiVersion: "0.0.2", Spec: &rekorpb.Spec{Spec: &rekorpb.Spec_DsseV002{DsseV002: &rekorpb.DSSELogEntryV002{
		PayloadHash: &commonv1.HashOutput{Algorithm: commonv1.HashAlgorithm_SHA2_256, Digest: ph[:]},
		Signatures:  want,
	}}}}
	if diff := cmp.Diff(wantEntry, got, protocmp.Transform()); diff != "" {
		t.Errorf("dsse entry mismatch (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(string(body), `{"apiVersion":"0.0.2","kind":"dsse","spec":{"dsseV002":{"payloadHash":{"algorithm":"SHA2_256","digest":"`) {
		t.Errorf("dsse body has unexpected form: %s", body)
	}
}

func TestParseEntryErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want error
	}{
		{name: "not json", body: "x", want: ErrMalformedRequest},
		{name: "no spec", body: `{"kind":"hashedrekord","apiVersion":"0.0.2"}`, want: ErrUnsupportedEntry},
		{name: "wrong kind", body: `{"kind":"dsse","apiVersion":"0.0.2","spec":{"hashedRekordV002":{}}}`, want: ErrUnsupportedEntry},
		{name: "wrong version", body: `{"kind":"hashedrekord","apiVersion":"0.0.1","spec":{"hashedRekordV002":{}}}`, want: ErrUnsupportedEntry},
		{name: "valid", body: `{"kind":"hashedrekord","apiVersion":"0.0.2","spec":{"hashedRekordV002":{}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseEntry([]byte(tc.body))
			if diff := cmp.Diff(tc.want, err, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("ParseEntry error mismatch (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

// TestNewEntrySharedAndCopied checks that the entry Append builds sharing
// the request's bytes canonicalizes as NewEntry's copy does, and that
// NewEntry's entry keeps its bytes when the request's are overwritten.
func TestNewEntrySharedAndCopied(t *testing.T) {
	_, reqs := realCreateEntryRequests(t)
	algs, err := newAlgorithmSet(nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, req := range reqs {
		shared, err := algs.newEntry(req, true)
		if err != nil {
			t.Fatal(err)
		}
		copied, err := algs.newEntry(req, false)
		if err != nil {
			t.Fatal(err)
		}
		sharedBody, err := CanonicalBody(shared)
		if err != nil {
			t.Fatal(err)
		}
		before, err := CanonicalBody(copied)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(before), string(sharedBody)); diff != "" {
			t.Errorf("request %d: shared entry's body differs (-copied +shared):\n%s", i, diff)
		}
		// Overwrite every byte field of a clone of the request that an
		// entry records, through the clone's own arrays.
		mutated := proto.Clone(req).(*rekorpb.CreateEntryRequest)
		copied, err = algs.newEntry(mutated, false)
		if err != nil {
			t.Fatal(err)
		}
		wipe := func(b []byte) {
			for j := range b {
				b[j] ^= 0xff
			}
		}
		if h := hr(mutated); h != nil {
			wipe(h.GetDigest())
			wipe(h.GetSignature().GetContent())
			wipe(h.GetSignature().GetVerifier().GetX509Certificate().GetRawBytes())
			wipe(h.GetSignature().GetVerifier().GetPublicKey().GetRawBytes())
		}
		if d := ds(mutated); d != nil {
			for _, v := range d.GetVerifiers() {
				wipe(v.GetX509Certificate().GetRawBytes())
				wipe(v.GetPublicKey().GetRawBytes())
			}
		}
		after, err := CanonicalBody(copied)
		if err != nil {
			t.Fatal(err)
		}
		if string(after) != string(before) {
			t.Errorf("request %d: NewEntry's entry changed with the request's bytes", i)
		}
	}
}
