package tlog

import (
	"encoding/json"
	"reflect"
	"testing"

	commonv1 "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorv1 "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// FuzzEncodeTransparencyLogEntry checks the direct writer against protojson
// with unpopulated fields emitted: both decode to the same JSON value, and
// the direct form decodes back to the same message.
func FuzzEncodeTransparencyLogEntry(f *testing.F) {
	f.Add(int64(7), []byte("log id"), "hashedrekord", "0.0.2", int64(0), []byte(nil), []byte("root"), int64(8), []byte("0123456789abcdef0123456789abcdef"),
		"signet.example\n8\nAAAA\n\n\u2014 signet.example sig\n", []byte(`{"kind":"x"}`), uint8(0xff))
	f.Add(int64(-1), []byte{}, "", "", int64(1700000000), []byte("set"), []byte{}, int64(0), []byte{}, "\"\\\b\f\t\x01\x7f", []byte{}, uint8(0))
	f.Add(int64(0), []byte(nil), "k\xff", "v", int64(0), []byte(nil), []byte(nil), int64(0), []byte(nil), "", []byte(nil), uint8(0x0f))
	f.Fuzz(func(t *testing.T, index int64, keyID []byte, kind, version string, integrated int64, set, rootHash []byte, size int64, hashes []byte, envelope string, body []byte, shape uint8) {
		bit := func(i uint) bool { return shape&(1<<i) != 0 }
		tle := &rekorv1.TransparencyLogEntry{LogIndex: index, IntegratedTime: integrated, CanonicalizedBody: body}
		if bit(0) {
			tle.LogId = &commonv1.LogId{KeyId: keyID}
		}
		if bit(1) {
			tle.KindVersion = &rekorv1.KindVersion{Kind: kind, Version: version}
		}
		if bit(2) {
			tle.InclusionPromise = &rekorv1.InclusionPromise{SignedEntryTimestamp: set}
		}
		if bit(3) {
			p := &rekorv1.InclusionProof{LogIndex: index, RootHash: rootHash, TreeSize: size}
			for len(hashes) > 0 {
				n := min(len(hashes), 32)
				p.Hashes, hashes = append(p.Hashes, hashes[:n]), hashes[n:]
			}
			if bit(4) {
				p.Checkpoint = &rekorv1.Checkpoint{Envelope: envelope}
			}
			tle.InclusionProof = p
		}

		want, wantErr := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(tle)
		got, err := EncodeTransparencyLogEntry(tle)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("EncodeTransparencyLogEntry error %v, protojson error %v", err, wantErr)
		}
		if err != nil {
			return
		}
		if direct, ok := appendTransparencyLogEntry(nil, tle); !ok && !bit(1) && !bit(4) {
			t.Fatalf("direct writer refused an entry without strings: %s", direct)
		}
		var gotV, wantV any
		if err := json.Unmarshal(got, &gotV); err != nil {
			t.Fatalf("direct form is not JSON: %v\n%s", err, got)
		}
		if err := json.Unmarshal(want, &wantV); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(gotV, wantV) {
			t.Fatalf("direct form\n%s\nprotojson\n%s", got, want)
		}
		back := &rekorv1.TransparencyLogEntry{}
		if err := protojson.Unmarshal(got, back); err != nil || !proto.Equal(back, tle) {
			t.Fatalf("direct form decodes to %v (%v), want %v", back, err, tle)
		}
	})
}

func BenchmarkEncodeTransparencyLogEntry(b *testing.B) {
	tle := &rekorv1.TransparencyLogEntry{
		LogIndex:          123456,
		LogId:             &commonv1.LogId{KeyId: make([]byte, 32)},
		KindVersion:       &rekorv1.KindVersion{Kind: KindHashedRekord, Version: APIVersion},
		CanonicalizedBody: make([]byte, 1200),
		InclusionProof: &rekorv1.InclusionProof{
			LogIndex: 123456, RootHash: make([]byte, 32), TreeSize: 200000,
			Hashes:     make([][]byte, 18),
			Checkpoint: &rekorv1.Checkpoint{Envelope: "signet.example\n200000\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u2014 signet.example AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"},
		},
	}
	for i := range tle.InclusionProof.Hashes {
		tle.InclusionProof.Hashes[i] = make([]byte, 32)
	}
	for b.Loop() {
		if _, err := EncodeTransparencyLogEntry(tle); err != nil {
			b.Fatal(err)
		}
	}
}
