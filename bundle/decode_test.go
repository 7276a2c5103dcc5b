package bundle

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

func vectorFiles(t testing.TB) [][]byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", "*.sigstore.json"))
	var out [][]byte
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
	}
	if len(out) == 0 {
		t.Fatal("no test vectors")
	}
	return out
}

// checkFast fails t unless decodeFast's result, when it has one, is
// protojson's: a message proto.Equal to protojson's, with nil bytes where
// protojson's has nil bytes (proto.Equal does not tell nil from empty;
// Bundle's checks do).
func checkFast(t *testing.T, data []byte) (ok bool) {
	t.Helper()
	got, ok := decodeFast(data)
	var want protobundle.Bundle
	err := protojson.Unmarshal(data, &want)
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("decodeFast accepts what protojson rejects: %v", err)
	}
	if !proto.Equal(got, &want) {
		t.Fatalf("decodeFast = %v, protojson = %v", got, &want)
	}
	if g, w := nilBytes(got.ProtoReflect(), ""), nilBytes(want.ProtoReflect(), ""); g != w {
		t.Fatalf("nil bytes fields: decodeFast %q, protojson %q", g, w)
	}
	return true
}

// nilBytes lists the populated singular bytes fields of m that are nil.
func nilBytes(m protoreflect.Message, path string) string {
	var out []string
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if !m.Has(fd) && fd.Kind() != protoreflect.BytesKind {
			continue
		}
		name := path + "." + string(fd.Name())
		switch {
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			l := m.Get(fd).List()
			for j := range l.Len() {
				out = append(out, nilBytes(l.Get(j).Message(), name))
			}
		case fd.IsList():
		case fd.Kind() == protoreflect.MessageKind:
			out = append(out, nilBytes(m.Get(fd).Message(), name))
		case fd.Kind() == protoreflect.BytesKind && m.Get(fd).Bytes() == nil:
			out = append(out, name)
		}
	}
	return strings.Join(out, " ")
}

// TestDecodeFastVectors checks that the fast path decodes real bundles,
// and to what protojson decodes.
func TestDecodeFastVectors(t *testing.T) {
	for _, data := range vectorFiles(t) {
		if !checkFast(t, data) {
			t.Errorf("decodeFast leaves a real bundle to protojson: %.80s", data)
		}
	}
}

// TestDecodeFastSubset pins the subset: what the fast path decodes itself,
// and what it must leave to protojson.
func TestDecodeFastSubset(t *testing.T) {
	const head = `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",`
	for _, tc := range []struct {
		name, json string
		fast       bool
	}{
		{"escapes", head + `"dsseEnvelope":{"payloadType":"a\"\\\/\b\f\n\r\t\u00e9\u2014","payload":"YQ=="}}`, true},
		{"UTF-8", head + `"dsseEnvelope":{"payloadType":"— é","payload":"YQ=="}}`, true},
		{"whitespace", " {\n\t\"mediaType\" : \"x\" ,\r\"verificationMaterial\":{ } } ", true},
		{"int64 as number", head + `"verificationMaterial":{"tlogEntries":[{"logIndex":12,"integratedTime":"0"}]}}`, true},
		{"empty bytes", head + `"dsseEnvelope":{"payload":""}}`, true},
		{"surrogate pair", head + `"dsseEnvelope":{"payloadType":"\ud83d\ude00"}}`, false},
		{"invalid UTF-8", head + "\"dsseEnvelope\":{\"payloadType\":\"\xff\"}}", false},
		{"control character", head + "\"dsseEnvelope\":{\"payloadType\":\"\x01\"}}", false},
		{"proto field name", `{"media_type":"x"}`, false},
		{"unknown field", head + `"x":"y"}`, false},
		{"duplicate field", `{"mediaType":"x","mediaType":"y"}`, false},
		{"two oneof members", head + `"dsseEnvelope":{},"messageSignature":{}}`, false},
		{"null member", head + `"dsseEnvelope":null,"messageSignature":{},"verificationMaterial":{"tlogEntries":null}}`, true},
		{"null twice", head + `"dsseEnvelope":null,"dsseEnvelope":null}`, false},
		{"null element", head + `"verificationMaterial":{"tlogEntries":[null]}}`, false},
		{"nullx", head + `"dsseEnvelope":nullx}`, false},
		{"negative int64", head + `"verificationMaterial":{"tlogEntries":[{"logIndex":"-1"}]}}`, false},
		{"space in quoted int64", head + `"verificationMaterial":{"tlogEntries":[{"logIndex":" 1"}]}}`, false},
		{"leading zero", head + `"verificationMaterial":{"tlogEntries":[{"logIndex":"01"}]}}`, false},
		{"exponent", head + `"verificationMaterial":{"tlogEntries":[{"logIndex":1e3}]}}`, false},
		{"19 digits", head + `"verificationMaterial":{"tlogEntries":[{"logIndex":"1000000000000000000"}]}}`, false},
		{"unpadded base64", head + `"dsseEnvelope":{"payload":"YQ"}}`, false},
		{"URL-safe base64", head + `"dsseEnvelope":{"payload":"-_-_"}}`, false},
		{"enum number", head + `"messageSignature":{"messageDigest":{"algorithm":1}}}`, false},
		{"unknown enum name", head + `"messageSignature":{"messageDigest":{"algorithm":"MD5"}}}`, false},
		{"trailing data", `{"mediaType":"x"} {}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkFast(t, []byte(tc.json)); got != tc.fast {
				t.Errorf("decoded by the fast path: %v, want %v", got, tc.fast)
			}
		})
	}
}

// FuzzDecodeFast checks the fast decoder against protojson, the general
// path: whatever it decodes, protojson decodes to the same message.
func FuzzDecodeFast(f *testing.F) {
	for _, data := range vectorFiles(f) {
		f.Add(data)
	}
	f.Add([]byte(`{"dsseEnvelope":{"payloadType":"a\"\\\/\b\f\n\r\t\u00e9","payload":"YQ==","signatures":[{"sig":"","keyid":""}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFast(t, data)
	})
}

// BenchmarkDecode decodes a real bundle through Decode (the fast path)
// and through protojson alone.
func BenchmarkDecode(b *testing.B) {
	data := readVector(b, "sigstore.js@2.0.0-provenance.sigstore.json")
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := decodeFast(data); !ok {
				b.Fatal("not decoded by the fast path")
			}
		}
	})
	b.Run("protojson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var pb protobundle.Bundle
			if err := protojson.Unmarshal(data, &pb); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// tlogEntryVectors returns the transparency log entries of the real
// bundles, each in the protobuf JSON a log answers with.
func tlogEntryVectors(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, data := range vectorFiles(t) {
		var pb protobundle.Bundle
		if err := protojson.Unmarshal(data, &pb); err != nil {
			t.Fatal(err)
		}
		for _, e := range pb.GetVerificationMaterial().GetTlogEntries() {
			raw, err := protojson.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, raw)
		}
	}
	if len(out) == 0 {
		t.Fatal("no transparency log entries in the test vectors")
	}
	return out
}

// checkTlogEntryFast is checkFast for DecodeTlogEntry: when the fast path
// decodes data, protojson decodes it to the same entry, and DecodeTlogEntry
// returns what protojson does either way.
func checkTlogEntryFast(t *testing.T, data []byte) (ok bool) {
	t.Helper()
	var want protorekor.TransparencyLogEntry
	wantErr := protojson.Unmarshal(data, &want)
	got, gotErr := DecodeTlogEntry(data)
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("DecodeTlogEntry error %v, protojson error %v", gotErr, wantErr)
	}
	if gotErr == nil && !proto.Equal(got, &want) {
		t.Fatalf("DecodeTlogEntry = %v, protojson = %v", got, &want)
	}
	fast, ok := decodeTlogEntryFast(data)
	if !ok {
		return false
	}
	if wantErr != nil {
		t.Fatalf("decodeTlogEntryFast accepts what protojson rejects: %v", wantErr)
	}
	if !proto.Equal(fast, &want) {
		t.Fatalf("decodeTlogEntryFast = %v, protojson = %v", fast, &want)
	}
	if g, w := nilBytes(fast.ProtoReflect(), ""), nilBytes(want.ProtoReflect(), ""); g != w {
		t.Fatalf("nil bytes fields: decodeTlogEntryFast %q, protojson %q", g, w)
	}
	return true
}

// TestDecodeTlogEntry checks that the entries of real bundles take the
// fast path, to what protojson decodes, and that entries outside its
// subset are still decoded (or refused) as protojson does.
func TestDecodeTlogEntry(t *testing.T) {
	for _, data := range tlogEntryVectors(t) {
		if !checkTlogEntryFast(t, data) {
			t.Errorf("a real entry is left to protojson: %.80s", data)
		}
	}
	for _, tc := range []struct {
		name, json string
		fast, ok   bool
	}{
		{"int64 as number", `{"logIndex":12,"integratedTime":"0","kindVersion":{"kind":"hashedrekord","version":"0.0.2"}}`, true, true},
		{"proto field name", `{"log_index":"1"}`, false, true},
		{"unknown field", `{"logIndex":"1","x":1}`, false, false},
		{"duplicate field", `{"logIndex":"1","logIndex":"2"}`, false, false},
		{"19 digits", `{"logIndex":"1000000000000000000"}`, false, true},
		{"trailing data", `{"logIndex":"1"} {}`, false, false},
		{"not an object", `[]`, false, false},
		{"empty", ``, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkTlogEntryFast(t, []byte(tc.json)); got != tc.fast {
				t.Errorf("decoded by the fast path: %v, want %v", got, tc.fast)
			}
			if _, err := DecodeTlogEntry([]byte(tc.json)); (err == nil) != tc.ok {
				t.Errorf("DecodeTlogEntry error %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// FuzzDecodeTlogEntryFast checks the entry fast path against protojson.
func FuzzDecodeTlogEntryFast(f *testing.F) {
	for _, data := range tlogEntryVectors(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkTlogEntryFast(t, data)
	})
}

// BenchmarkDecodeTlogEntry decodes a real entry through DecodeTlogEntry
// (the fast path) and through protojson alone.
func BenchmarkDecodeTlogEntry(b *testing.B) {
	data := tlogEntryVectors(b)[0]
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := decodeTlogEntryFast(data); !ok {
				b.Fatal("not decoded by the fast path")
			}
		}
	})
	b.Run("protojson", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var e protorekor.TransparencyLogEntry
			if err := protojson.Unmarshal(data, &e); err != nil {
				b.Fatal(err)
			}
		}
	})
}
