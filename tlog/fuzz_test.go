package tlog

import (
	"bytes"
	"testing"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

func fuzzSeeds(f *testing.F) [][]byte {
	f.Helper()
	s := newTestSigner(f)
	env := s.Envelope(f, "application/vnd.in-toto+json", []byte(`{"_type":"https://in-toto.io/Statement/v1"}`))
	var seeds [][]byte
	for _, req := range []*rekorpb.CreateEntryRequest{
		s.HashedRekord(f, []byte("a"), s.CertVerifier()),
		s.HashedRekord(f, []byte("b"), s.KeyVerifier()),
		dsseRequest(env, s.CertVerifier()),
	} {
		js, err := protojson.Marshal(req)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, js)
	}
	return seeds
}

// FuzzCreateEntryRequest feeds untrusted request bodies through decoding,
// validation and canonicalization: nothing panics, decoded requests survive a
// JSON round trip, and accepted entries have a canonical body that parses
// back to the same entry.
func FuzzCreateEntryRequest(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte(`{"hashedRekordRequestV002":{"digest":"AAAA","signature":{"content":"AA==","verifier":{"publicKey":{"rawBytes":"MAA="},"keyDetails":"PKIX_ED25519_PH"}}}}`))
	f.Add([]byte(`{"dsseRequestV002":{"envelope":{"payload":"","payloadType":"","signatures":[{"sig":"AA=="}]},"verifiers":[{}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeCreateEntryRequest(body)
		if err != nil {
			return
		}
		js, err := protojson.Marshal(req)
		if err != nil {
			t.Fatalf("re-encode decoded request: %v", err)
		}
		again, err := DecodeCreateEntryRequest(js)
		if err != nil {
			t.Fatalf("decode re-encoded request %s: %v", js, err)
		}
		if !proto.Equal(req, again) {
			t.Fatalf("request changed in a JSON round trip:\n%v\n%v", req, again)
		}

		entry, err := NewEntry(req, nil)
		if err != nil {
			return
		}
		checkCanonical(t, entry)
	})
}

// FuzzParseEntry feeds log leaves through ParseEntry and CanonicalBody: no
// panics, and canonicalization is idempotent.
func FuzzParseEntry(f *testing.F) {
	s := newTestSigner(f)
	env := s.Envelope(f, "text/plain", []byte("hello"))
	for _, req := range []*rekorpb.CreateEntryRequest{
		s.HashedRekord(f, []byte("a"), s.CertVerifier()),
		dsseRequest(env, s.KeyVerifier()),
	} {
		e, err := NewEntry(req, nil)
		if err != nil {
			f.Fatal(err)
		}
		body, err := CanonicalBody(e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	f.Add([]byte(`{"kind":"hashedrekord","apiVersion":"0.0.2","spec":{"hashedRekordV002":{"data":{"digest":"AA=="}}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := ParseEntry(body)
		if err != nil {
			return
		}
		checkCanonical(t, e)
	})
}

func checkCanonical(t *testing.T, e *rekorpb.Entry) {
	t.Helper()
	body, err := CanonicalBody(e)
	if err != nil {
		t.Fatalf("canonicalize entry: %v", err)
	}
	if again, err := jsoncanonicalizer.Transform(body); err != nil || !bytes.Equal(again, body) {
		t.Fatalf("canonical body is not in RFC 8785 form: %s (%v)", body, err)
	}
	parsed, err := ParseEntry(body)
	if err != nil {
		t.Fatalf("parse canonical body %s: %v", body, err)
	}
	if !proto.Equal(parsed, e) {
		t.Fatalf("entry changed in a canonical round trip:\n%v\n%v", e, parsed)
	}
	body2, err := CanonicalBody(parsed)
	if err != nil || !bytes.Equal(body, body2) {
		t.Fatalf("canonical body not stable: %s vs %s (%v)", body, body2, err)
	}
}
