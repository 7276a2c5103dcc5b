package tlog

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	commonv1 "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	dssepb "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// The tests in this file name the error each request check produces, so
// that deleting the check (make mutate) turns them red even where a later
// check would reject the request with the same kind of error.

// TestDecodeFastSubset pins the fast request decoder to its contract: it
// takes the forms clients send (and then agrees with protojson), and
// declines, for protojson to judge, everything outside its subset.
func TestDecodeFastSubset(t *testing.T) {
	s := newTestSigner(t)
	env := s.Envelope(t, "application/vnd.in-toto+json", []byte(`{"a":"b"}`))
	env.Signatures = append(env.Signatures, &dssepb.Signature{Sig: []byte("second"), Keyid: "k"})
	var takes []string
	for _, req := range []*rekorpb.CreateEntryRequest{
		s.HashedRekord(t, []byte("a"), s.CertVerifier()),
		s.HashedRekord(t, []byte("b"), s.KeyVerifier()),
		dsseRequest(env, s.CertVerifier(), s.KeyVerifier()),
	} {
		for _, o := range []protojson.MarshalOptions{{}, {Multiline: true}} {
			b, err := o.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			takes = append(takes, string(b))
		}
	}
	takes = append(takes,
		`{"hashedRekordRequestV002":{}}`,
		`{ "hashedRekordRequestV002" : { "signature" : { } , "digest" : "AAAA" } }`,
		`{"dsseRequestV002":{"envelope":{"signatures":[]},"verifiers":[]}}`,
		`{"dsseRequestV002":{"verifiers":[{},{"keyDetails":"PKIX_ED25519"}]}}`,
	)
	for _, body := range takes {
		got, ok := decodeCreateEntryRequestFast([]byte(body))
		if !ok {
			t.Errorf("fast decoder declines %s", body)
			continue
		}
		want := &rekorpb.CreateEntryRequest{}
		if err := protojson.Unmarshal([]byte(body), want); err != nil {
			t.Fatalf("protojson: %v", err)
		}
		if !proto.Equal(got, want) {
			t.Errorf("fast decoder gives %v for %s, protojson %v", got, body, want)
		}
	}
	for _, body := range []string{
		`"hashedRekordRequestV002":{}}`,
		`{hashedRekordRequestV002":{}}`,
		`{"hashedRekordRequestV002" {}}`,
		`{"hashedRekordRequestV002":{},"dsseRequestV002":{}}`,
		`{"hashedRekordRequestV002":{"digest":"AAAA" "signature":{}}}`,
		`{"hashedRekordRequestV002":{"digest":,"signature":{}}}`,
		`{"hashedRekordRequestV002":{"digest":"AAA"}}`,
		`{"hashedRekordRequestV002":{"signature":{"verifier":{"publicKey":{},"x509Certificate":{}}}}}`,
		`{"foo":{}}`,
		`{"dsseRequestV002":{"verifiers":{}]}}`,
		`{"dsseRequestV002":{"verifiers":[{} {}]}}`,
		`{"dsseRequestV002":{"verifiers":[{},]}}`,
		`{}x`,
	} {
		if _, ok := decodeCreateEntryRequestFast([]byte(body)); ok {
			t.Errorf("fast decoder takes %s", body)
		}
	}
}

func TestNewEntryMessages(t *testing.T) {
	s := newTestSigner(t)
	hashed := func(edit func(*rekorpb.HashedRekordRequestV002)) *rekorpb.CreateEntryRequest {
		r := s.HashedRekord(t, []byte("artifact"), s.KeyVerifier())
		edit(r.GetHashedRekordRequestV002())
		return r
	}
	env := s.Envelope(t, "application/vnd.in-toto+json", []byte(`{"a":"b"}`))
	twoSigs := proto.Clone(env).(*dssepb.Envelope)
	twoSigs.Signatures = append(twoSigs.Signatures, &dssepb.Signature{Sig: []byte("not a signature")})
	for _, tt := range []struct {
		name string
		req  *rekorpb.CreateEntryRequest
		want string
	}{
		{"no digest", hashed(func(h *rekorpb.HashedRekordRequestV002) { h.Digest = nil }), "missing digest"},
		{"no verifier", hashed(func(h *rekorpb.HashedRekordRequestV002) { h.Signature.Verifier = nil }), "missing verifier"},
		{"empty key", hashed(func(h *rekorpb.HashedRekordRequestV002) { h.Signature.Verifier.GetPublicKey().RawBytes = nil }), "missing public key raw bytes"},
		{"empty certificate", s.HashedRekord(t, []byte("a"), &rekorpb.Verifier{
			Verifier:   &rekorpb.Verifier_X509Certificate{X509Certificate: &commonv1.X509Certificate{}},
			KeyDetails: commonv1.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
		}), "missing X.509 certificate raw bytes"},
		{"no envelope", dsseRequest(nil, s.KeyVerifier()), "missing envelope"},
		{"a signature no verifier verifies", dsseRequest(twoSigs, s.KeyVerifier()), "envelope signature 1 verifies with no verifier"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewEntry(tt.req, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewEntry error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestPureEd25519 logs DSSE envelopes signed with pure Ed25519 keys, and
// refuses one whose signature does not verify.
func TestPureEd25519(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	v := &rekorpb.Verifier{Verifier: &rekorpb.Verifier_PublicKey{PublicKey: &rekorpb.PublicKey{RawBytes: der}}, KeyDetails: commonv1.PublicKeyDetails_PKIX_ED25519}
	payload := []byte(`{"a":"b"}`)
	env := &dssepb.Envelope{Payload: payload, PayloadType: "application/vnd.in-toto+json",
		Signatures: []*dssepb.Signature{{Sig: ed25519.Sign(priv, PAE("application/vnd.in-toto+json", payload))}}}
	allowed := []commonv1.PublicKeyDetails{commonv1.PublicKeyDetails_PKIX_ED25519}
	if _, err := NewEntry(dsseRequest(env, v), allowed); err != nil {
		t.Fatalf("pure Ed25519 envelope: %v", err)
	}
	env.Signatures[0].Sig[0] ^= 1
	if _, err := NewEntry(dsseRequest(env, v), allowed); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("pure Ed25519 envelope with a bad signature: %v", err)
	}
	// An ECDSA key cannot pose as an Ed25519 one.
	s := newTestSigner(t)
	ec := s.KeyVerifier()
	ec.KeyDetails = commonv1.PublicKeyDetails_PKIX_ED25519
	if _, err := NewEntry(dsseRequest(s.Envelope(t, "x", payload), ec), allowed); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Fatalf("ECDSA key with Ed25519 key details: %v", err)
	}
}

func TestCanonicalBodyGeneralErrors(t *testing.T) {
	if _, err := canonicalBodyGeneral(&rekorpb.Entry{Kind: "\xff"}); err == nil || !strings.Contains(err.Error(), "marshal entry") {
		t.Errorf("canonicalBodyGeneral of an entry protojson cannot encode: %v", err)
	}
}
