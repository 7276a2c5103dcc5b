package tlog

import (
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

// realCreateEntryRequests returns the bodies clients send, which the fast
// path must decode, with the requests they encode.
func realCreateEntryRequests(t testing.TB) (bodies [][]byte, reqs []*rekorpb.CreateEntryRequest) {
	t.Helper()
	s, other := newTestSigner(t), newTestSigner(t)
	env := s.Envelope(t, "application/vnd.in-toto+json", []byte(`{"_type":"https://in-toto.io/Statement/v1"}`))
	twoSigs := s.Envelope(t, "text/plain", []byte("hello"))
	twoSigs.Signatures[0].Keyid = "key-1"
	twoSigs.Signatures = append(twoSigs.Signatures, other.Envelope(t, "text/plain", []byte("hello")).Signatures...)
	for _, req := range []*rekorpb.CreateEntryRequest{
		s.HashedRekord(t, []byte("a"), s.CertVerifier()),
		s.HashedRekord(t, []byte("b"), s.KeyVerifier()),
		dsseRequest(env, s.CertVerifier()),
		dsseRequest(twoSigs, s.KeyVerifier(), other.CertVerifier()),
	} {
		for _, opts := range []protojson.MarshalOptions{{}, {Multiline: true}} {
			body, err := opts.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			bodies, reqs = append(bodies, body), append(reqs, req)
		}
	}

	// Members in another order than protojson's, and other whitespace.
	req := s.HashedRekord(t, []byte("c"), s.CertVerifier())
	hashed := req.GetHashedRekordRequestV002()
	b64 := base64.StdEncoding.EncodeToString
	body := fmt.Sprintf("\r\n{\t\"hashedRekordRequestV002\" :{ \"signature\":{\"verifier\":{\"keyDetails\":\"PKIX_ECDSA_P256_SHA_256\",\n"+
		"\"x509Certificate\":{\"rawBytes\":%q}},\"content\":%q},\"digest\":%q } }\n",
		b64(s.Cert.Raw), b64(hashed.GetSignature().GetContent()), b64(hashed.GetDigest()))
	return append(bodies, []byte(body)), append(reqs, req)
}

// FuzzDecodeCreateEntryRequestFast checks the fast path against protojson:
// whatever it accepts, protojson decodes to an equal message. Real requests
// must take the fast path.
func FuzzDecodeCreateEntryRequestFast(f *testing.F) {
	bodies, reqs := realCreateEntryRequests(f)
	for i, body := range bodies {
		got, ok := decodeCreateEntryRequestFast(body)
		if !ok {
			f.Fatalf("fast path rejects a real request:\n%s", body)
		}
		if diff := cmp.Diff(reqs[i], got, protocmp.Transform()); diff != "" {
			f.Fatalf("fast path decodes\n%s\nwrong (-want +got):\n%s", body, diff)
		}
		f.Add(body)
	}

	const hashed = `{"hashedRekordRequestV002":{"digest":"AAAA","signature":{"content":"AA==","verifier":{"publicKey":{"rawBytes":"MAA="},"keyDetails":"PKIX_ED25519_PH"}}}}`
	for _, body := range []string{
		hashed,
		`{"dsseRequestV002":{"envelope":{"payload":"","payloadType":"t","signatures":[{"sig":"AA==","keyid":"k"},{}]},"verifiers":[{},{"x509Certificate":{}}]}}`,
		``, ` `, `{}`, `[]`, `null`, `""`, `{"dsseRequestV002":{}}`, `{"dsseRequestV002":{"envelope":{},"verifiers":[]}}`,
		`{"hashedRekordRequestV002":{"signature":{"verifier":{}}}}`,
		`{"hashedRekordRequestV002":{"signature":{"verifier":{"publicKey":{}}}}}`,
		// Duplicates, also under the other name protojson knows the field by.
		`{"hashedRekordRequestV002":{"digest":"AAAA","digest":"AAAA"}}`,
		`{"hashedRekordRequestV002":{},"hashedRekordRequestV002":{}}`,
		`{"hashedRekordRequestV002":{"signature":{"verifier":{"publicKey":{},"public_key":{}}}}}`,
		`{"dsseRequestV002":{"verifiers":[],"verifiers":[]}}`,
		// Both members of a oneof.
		`{"hashedRekordRequestV002":{},"dsseRequestV002":{}}`,
		`{"hashedRekordRequestV002":{"signature":{"verifier":{"publicKey":{},"x509Certificate":{}}}}}`,
		// Proto field names and other spellings.
		`{"hashed_rekord_request_v002":{"digest":"AAAA"}}`,
		`{"hashedRekordRequestV002":{"signature":{"verifier":{"public_key":{"raw_bytes":"AA=="},"key_details":"PKIX_ED25519"}}}}`,
		`{"HashedRekordRequestV002":{"Digest":"AAAA"}}`,
		`{"dsseRequestV002":{"envelope":{"payload_type":"t"}}}`,
		// null, numbers, booleans.
		`{"hashedRekordRequestV002":null}`,
		`{"hashedRekordRequestV002":{"digest":null}}`,
		`{"dsseRequestV002":{"envelope":{"signatures":[null]}}}`,
		`{"dsseRequestV002":{"verifiers":null}}`,
		`{"hashedRekordRequestV002":{"digest":true}}`,
		`{"hashedRekordRequestV002":{"digest":0}}`,
		// Enums by number or unknown name.
		`{"hashedRekordRequestV002":{"signature":{"verifier":{"keyDetails":5}}}}`,
		`{"hashedRekordRequestV002":{"signature":{"verifier":{"keyDetails":"5"}}}}`,
		`{"hashedRekordRequestV002":{"signature":{"verifier":{"keyDetails":"pkix_ed25519"}}}}`,
		`{"hashedRekordRequestV002":{"signature":{"verifier":{"keyDetails":"NOPE"}}}}`,
		`{"hashedRekordRequestV002":{"signature":{"verifier":{"keyDetails":"PUBLIC_KEY_DETAILS_UNSPECIFIED"}}}}`,
		// Base64 forms protojson decodes differently or not at all.
		`{"hashedRekordRequestV002":{"digest":"-_-_"}}`,
		`{"hashedRekordRequestV002":{"digest":"+/+/"}}`,
		`{"hashedRekordRequestV002":{"digest":"+/-_"}}`,
		`{"hashedRekordRequestV002":{"digest":"AA"}}`,
		`{"hashedRekordRequestV002":{"digest":"AA="}}`,
		`{"hashedRekordRequestV002":{"digest":"AB=="}}`,
		`{"hashedRekordRequestV002":{"digest":"A==="}}`,
		`{"hashedRekordRequestV002":{"digest":"AA==AA=="}}`,
		`{"hashedRekordRequestV002":{"digest":"AA A"}}`,
		`{"hashedRekordRequestV002":{"digest":""}}`,
		// Unknown fields.
		`{"hashedRekordRequestV002":{"digest":"AAAA","foo":1}}`,
		`{"@type":"type.googleapis.com/dev.sigstore.rekor.v2.CreateEntryRequest"}`,
		`{"[dev.sigstore.ext]":{}}`,
		// Trailing data and broken syntax.
		hashed + `x`, hashed + `{}`, hashed + ` `, hashed[:len(hashed)-1],
		`{"hashedRekordRequestV002":{"digest":"AAAA",}}`,
		`{"hashedRekordRequestV002":{"digest":"AAAA"}`,
		`{"dsseRequestV002":{"verifiers":[{},]}}`,
		`{"dsseRequestV002":{"verifiers":[[]]}}`,
		`{"hashedRekordRequestV002" "digest"}`,
		"\ufeff{}", "{}\x00", "\v{}",
		// Escapes, non-ASCII and control characters.
		`{"dsseRequestV002":{"envelope":{"payloadType":"a\u0041"}}}`,
		`{"hashedRekordRequestV002":{"digest":"AA\u003d="}}`,
		`{"hashedRekordRequestV002":{"dig\u0065st":"AAAA"}}`,
		`{"dsseRequestV002":{"envelope":{"payloadType":"\/"}}}`,
		`{"dsseRequestV002":{"envelope":{"payloadType":"é"}}}`,
		"{\"dsseRequestV002\":{\"envelope\":{\"payloadType\":\"\xff\"}}}",
		"{\"dsseRequestV002\":{\"envelope\":{\"payloadType\":\"\t\"}}}",
		"{\"dsseRequestV002\":{\"envelope\":{\"payloadType\":\"\x7f\"}}}",
		// Nesting the schema does not have.
		`{"hashedRekordRequestV002":{"signature":{"verifier":{"publicKey":{"rawBytes":{"rawBytes":"AA=="}}}}}}`,
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
	} {
		f.Add([]byte(body))
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := decodeCreateEntryRequestFast(body)
		if !ok {
			if got != nil {
				t.Fatalf("fast path returns %v with ok=false", got)
			}
			return
		}
		want := &rekorpb.CreateEntryRequest{}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(body, want); err != nil {
			t.Fatalf("fast path accepts %q, which protojson rejects: %v", body, err)
		}
		if !proto.Equal(want, got) {
			t.Fatalf("fast path and protojson disagree on %q (-protojson +fast):\n%s", body, cmp.Diff(want, got, protocmp.Transform()))
		}
	})
}

// BenchmarkDecodeCreateEntryRequest decodes a hashedrekord request with a
// certificate of about 1.4 KB, the size of a Fulcio certificate for a GitHub
// Actions workflow.
func BenchmarkDecodeCreateEntryRequest(b *testing.B) {
	s := newLargeCertSigner(b, 1000)
	body, err := protojson.Marshal(s.HashedRekord(b, []byte("artifact"), s.CertVerifier()))
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("certificate %d bytes, request %d bytes", len(s.Cert.Raw), len(body))
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, ok := decodeCreateEntryRequestFast(body); !ok {
				b.Fatal("fast path rejects the request")
			}
		}
	})
	b.Run("protojson", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(body, &rekorpb.CreateEntryRequest{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzDecodeEntryFast checks the leaf fast path against protojson: whatever
// it accepts, protojson decodes to an equal message. Every leaf the log
// writes must take the fast path.
func FuzzDecodeEntryFast(f *testing.F) {
	_, reqs := realCreateEntryRequests(f)
	algs, err := newAlgorithmSet(nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, req := range reqs {
		entry, err := algs.newEntry(req, false)
		if err != nil {
			f.Fatal(err)
		}
		body, err := CanonicalBody(entry)
		if err != nil {
			f.Fatal(err)
		}
		got, ok := decodeEntryFast(body)
		if !ok {
			f.Fatalf("fast path rejects a leaf the log writes:\n%s", body)
		}
		if diff := cmp.Diff(entry, got, protocmp.Transform()); diff != "" {
			f.Fatalf("fast path decodes\n%s\nwrong (-want +got):\n%s", body, diff)
		}
		f.Add(body)
	}

	const hashed = `{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{"hashedRekordV002":{"data":{"algorithm":"SHA2_256","digest":"AAAA"},"signature":{"content":"AA==","verifier":{"keyDetails":"PKIX_ED25519_PH","publicKey":{"rawBytes":"MAA="}}}}}}`
	for _, body := range []string{
		hashed,
		`{"apiVersion":"0.0.2","kind":"dsse","spec":{"dsseV002":{"payloadHash":{"algorithm":"SHA2_384","digest":""},"signatures":[{"content":"AA==","verifier":{"x509Certificate":{"rawBytes":"AA=="}}},{}]}}}`,
		``, `{}`, `{"spec":{}}`, `{"spec":null}`, `{"kind":null}`, `{"kind":1}`,
		// Duplicates, both oneof members, other spellings.
		`{"kind":"a","kind":"a"}`,
		`{"spec":{"hashedRekordV002":{},"dsseV002":{}}}`,
		`{"spec":{"hashedRekordV002":{},"hashed_rekord_v002":{}}}`,
		`{"api_version":"0.0.2"}`,
		`{"spec":{"dsseV002":{"payload_hash":{}}}}`,
		`{"spec":{"dsseV002":{"signatures":[null]}}}`,
		// Enums by number, unknown name or the zero name.
		`{"spec":{"hashedRekordV002":{"data":{"algorithm":1}}}}`,
		`{"spec":{"hashedRekordV002":{"data":{"algorithm":"sha2_256"}}}}`,
		`{"spec":{"hashedRekordV002":{"data":{"algorithm":"HASH_ALGORITHM_UNSPECIFIED"}}}}`,
		`{"spec":{"hashedRekordV002":{"data":{"algorithm":"MD5"}}}}`,
		// Base64 protojson reads differently, escapes, trailing data.
		`{"spec":{"hashedRekordV002":{"data":{"digest":"-_-_"}}}}`,
		`{"spec":{"hashedRekordV002":{"data":{"digest":"AA"}}}}`,
		`{"kind":"hashed\u0072ekord"}`,
		"{\"kind\":\"\xff\"}",
		hashed + `x`, hashed + `{}`, hashed[:len(hashed)-1],
		`{"kind":"a",}`, `{"foo":"a"}`,
	} {
		f.Add([]byte(body))
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := decodeEntryFast(body)
		if !ok {
			if got != nil {
				t.Fatalf("fast path returns %v with ok=false", got)
			}
			return
		}
		want := &rekorpb.Entry{}
		if err := protojson.Unmarshal(body, want); err != nil {
			t.Fatalf("fast path accepts %q, which protojson rejects: %v", body, err)
		}
		if !proto.Equal(want, got) {
			t.Fatalf("fast path and protojson disagree on %q (-protojson +fast):\n%s", body, cmp.Diff(want, got, protocmp.Transform()))
		}
	})
}

// BenchmarkParseEntry decodes a leaf of a hashedrekord entry with a
// certificate of about 1.4 KB, as followers and readers do for every leaf.
func BenchmarkParseEntry(b *testing.B) {
	s := newLargeCertSigner(b, 1000)
	algs, err := newAlgorithmSet(nil)
	if err != nil {
		b.Fatal(err)
	}
	entry, err := algs.newEntry(s.HashedRekord(b, []byte("artifact"), s.CertVerifier()), false)
	if err != nil {
		b.Fatal(err)
	}
	body, err := CanonicalBody(entry)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := decodeEntryFast(body); !ok {
				b.Fatal("fast path rejects the leaf")
			}
		}
	})
	b.Run("protojson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := protojson.Unmarshal(body, &rekorpb.Entry{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
