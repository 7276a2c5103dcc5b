package tlog

//lint:file-ignore SA1019 Rekor v2 dsse v0.0.2 entries are deprecated upstream but signet still accepts them (issue 4)

import (
	"bytes"
	"testing"

	commonv1 "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"google.golang.org/protobuf/encoding/protojson"
)

func BenchmarkCanonicalBody(b *testing.B) {
	s := newTestSigner(b)
	e, err := NewEntry(s.HashedRekord(b, []byte("artifact"), s.CertVerifier()), nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := CanonicalBody(e); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzEntryJSON checks that the direct entry writer agrees with protojson
// and the general canonicalizer, for entries parsed from fuzzed leaves and
// for entries assembled from fuzzed field values.
func FuzzEntryJSON(f *testing.F) {
	s := newTestSigner(f)
	env := s.Envelope(f, "text/plain", []byte("hello"))
	for _, req := range []*rekorpb.CreateEntryRequest{
		s.HashedRekord(f, []byte("a"), s.CertVerifier()),
		s.HashedRekord(f, []byte("b"), s.KeyVerifier()),
		dsseRequest(env, s.CertVerifier()),
	} {
		e, err := NewEntry(req, nil)
		if err != nil {
			f.Fatal(err)
		}
		body, err := canonicalBodyGeneral(e)
		if err != nil {
			f.Fatal(err)
		}
		if got, ok := appendEntryJSON(nil, e); !ok || !bytes.Equal(got, body) {
			f.Fatalf("direct writer gives %s (ok %v), want %s", got, ok, body)
		}
		f.Add(body, "", "", uint8(0), int32(0), int32(0), []byte(nil))
	}
	f.Add([]byte(`{"kind":"x","spec":{"hashedRekordV002":{"signature":{"verifier":{"keyDetails":99}}}}}`), "", "", uint8(0), int32(0), int32(0), []byte(nil))
	f.Add([]byte(`{}`), "hashedrekord", "0.0.2", uint8(3), int32(1), int32(5), []byte("raw"))
	f.Add([]byte(`{}`), "dsse", "0.0.2", uint8(0xff), int32(7), int32(99), []byte{})
	f.Fuzz(func(t *testing.T, leaf []byte, kind, version string, shape uint8, alg, details int32, raw []byte) {
		e := &rekorpb.Entry{}
		if protojson.Unmarshal(leaf, e) != nil {
			e = fuzzEntry(kind, version, shape, alg, details, raw)
		}
		want, err := canonicalBodyGeneral(e)
		if err != nil {
			return
		}
		got, ok := appendEntryJSON(nil, e)
		if ok && !bytes.Equal(got, want) {
			t.Fatalf("direct writer gives\n%s\nwant\n%s\nfor %v", got, want, e)
		}
		if canon, err := CanonicalBody(e); err != nil || !bytes.Equal(canon, want) {
			t.Fatalf("CanonicalBody = %s, %v; want %s", canon, err, want)
		}
	})
}

// fuzzEntry assembles an entry whose shape (which messages are nil, empty
// or set) follows the bits of shape.
func fuzzEntry(kind, version string, shape uint8, alg, details int32, raw []byte) *rekorpb.Entry {
	bit := func(i uint) bool { return shape&(1<<i) != 0 }
	var hash *commonv1.HashOutput
	if bit(0) {
		hash = &commonv1.HashOutput{Algorithm: commonv1.HashAlgorithm(alg), Digest: raw}
	}
	sig := &rekorpb.Signature{Content: raw}
	if bit(1) {
		v := &rekorpb.Verifier{KeyDetails: commonv1.PublicKeyDetails(details)}
		switch {
		case bit(2) && bit(3):
			v.Verifier = &rekorpb.Verifier_X509Certificate{}
		case bit(2):
			v.Verifier = &rekorpb.Verifier_PublicKey{PublicKey: &rekorpb.PublicKey{RawBytes: raw}}
		case bit(3):
			v.Verifier = &rekorpb.Verifier_X509Certificate{X509Certificate: &commonv1.X509Certificate{RawBytes: raw}}
		}
		sig.Verifier = v
	}
	e := &rekorpb.Entry{Kind: kind, ApiVersion: version}
	switch {
	case bit(4) && bit(5):
		e.Spec = &rekorpb.Spec{}
	case bit(4):
		sigs := []*rekorpb.Signature{sig, {}}
		if bit(6) {
			sigs = append(sigs, nil)
		}
		e.Spec = &rekorpb.Spec{Spec: &rekorpb.Spec_DsseV002{DsseV002: &rekorpb.DSSELogEntryV002{PayloadHash: hash, Signatures: sigs}}}
	case bit(5):
		hr := &rekorpb.HashedRekordLogEntryV002{Data: hash}
		if bit(6) {
			hr.Signature = sig
		}
		e.Spec = &rekorpb.Spec{Spec: &rekorpb.Spec_HashedRekordV002{HashedRekordV002: hr}}
	case bit(7):
		e.Spec = &rekorpb.Spec{Spec: &rekorpb.Spec_HashedRekordV002{}}
	}
	return e
}
