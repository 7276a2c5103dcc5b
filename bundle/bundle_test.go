package bundle

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
)

func readVector(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDecodeVectors(t *testing.T) {
	type summary struct {
		Version    string
		Cert       bool
		KeyHint    string
		DSSE       bool
		Timestamps int
		Entries    []string
	}
	tests := []struct {
		file string
		want summary
	}{
		{"sigstore.js@2.0.0-provenance.sigstore.json", summary{Version: "v0.1", Cert: true, DSSE: true, Entries: []string{"intoto/0.0.2 promise proof"}}},
		{"dsse.sigstore.json", summary{Version: "v0.1", Cert: true, DSSE: true, Entries: []string{"intoto/0.0.2 promise"}}},
		{"othername.sigstore.json", summary{Version: "v0.3", Cert: true, Entries: []string{"hashedrekord/0.0.1 promise proof"}}},
		{"public-key-validity.sigstore.json", summary{Version: "v0.3", KeyHint: "IpekKjxVkmTfB4YqY8q5sGEAeVtF9x3m7jHdhAxpgjQ=", Timestamps: 1}},
		// A null inclusionProof decodes as absent.
		{"examples-bundle-publish.sigstore.json", summary{Version: "v0.1", KeyHint: "SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA", DSSE: true, Entries: []string{"intoto/0.0.2 promise"}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := Decode(readVector(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got := summary{Version: b.Version(), Cert: b.Certificate() != nil, DSSE: b.Envelope() != nil, Timestamps: len(b.Timestamps())}
			got.KeyHint, _ = b.PublicKeyHint()
			for _, e := range b.TlogEntries() {
				s := e.Kind + "/" + e.APIVersion
				if e.HasInclusionPromise() {
					s += " promise"
				}
				if e.HasInclusionProof() {
					s += " proof"
				}
				got.Entries = append(got.Entries, s)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
			if len(b.Signature()) == 0 {
				t.Error("no signature")
			}
			// Round trip: Encode then Decode gives the same message.
			out, err := b.Encode()
			if err != nil {
				t.Fatal(err)
			}
			b2, err := Decode(out)
			if err != nil {
				t.Fatalf("decode re-encoded bundle: %v", err)
			}
			if !proto.Equal(b.Proto(), b2.Proto()) {
				t.Error("round trip changed the bundle")
			}
		})
	}
}

// edit decodes a vector to generic JSON, applies f and re-encodes it.
func edit(t *testing.T, file string, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readVector(t, file), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func vm(m map[string]any) map[string]any { return m["verificationMaterial"].(map[string]any) }

func entry0(m map[string]any) map[string]any {
	return vm(m)["tlogEntries"].([]any)[0].(map[string]any)
}

func TestDecodeErrors(t *testing.T) {
	const v03 = "othername.sigstore.json"
	const v01 = "dsse.sigstore.json"
	tests := []struct {
		name    string
		data    []byte
		wantErr error
		wantMsg string
	}{
		{"not JSON", []byte("{"), ErrInvalid, ""},
		{"unknown field", []byte(`{"foo":1}`), ErrInvalid, "unknown field"},
		{"no media type", edit(t, v03, func(m map[string]any) { delete(m, "mediaType") }), ErrUnsupportedMediaType, ""},
		{"media type v0.4", edit(t, v03, func(m map[string]any) { m["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.4+json" }), ErrUnsupportedMediaType, "v0.4"},
		{"media type old-style v0.4", edit(t, v03, func(m map[string]any) { m["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.4" }), ErrUnsupportedMediaType, ""},
		{"media type v0.0", edit(t, v03, func(m map[string]any) { m["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.0+json" }), ErrUnsupportedMediaType, ""},
		{"media type bad semver", edit(t, v03, func(m map[string]any) { m["mediaType"] = "application/vnd.dev.sigstore.bundle.vX+json" }), ErrUnsupportedMediaType, "invalid version"},
		{"no content", edit(t, v03, func(m map[string]any) { delete(m, "messageSignature") }), ErrMissingContent, ""},
		{"no message digest", edit(t, v03, func(m map[string]any) {
			delete(m["messageSignature"].(map[string]any), "messageDigest")
		}), ErrMissingContent, "without digest"},
		{"no DSSE payload", edit(t, v01, func(m map[string]any) { delete(m["dsseEnvelope"].(map[string]any), "payload") }), ErrMissingContent, "payload"},
		{"no verification material", edit(t, v03, func(m map[string]any) { delete(m, "verificationMaterial") }), ErrMissingVerificationMaterial, ""},
		{"no certificate", edit(t, v03, func(m map[string]any) { delete(vm(m), "certificate") }), ErrMissingVerificationMaterial, ""},
		{"bad certificate", edit(t, v03, func(m map[string]any) { vm(m)["certificate"] = map[string]any{"rawBytes": "AAAA"} }), ErrInvalid, "certificate"},
		{"empty chain", edit(t, v01, func(m map[string]any) { vm(m)["x509CertificateChain"] = map[string]any{} }), ErrMissingVerificationMaterial, "empty certificate chain"},
		{"v0.3 with a chain", edit(t, v01, func(m map[string]any) { m["mediaType"] = MediaType03 }), ErrInvalid, "not a certificate chain"},
		{"v0.1 without promise", edit(t, v01, func(m map[string]any) { delete(entry0(m), "inclusionPromise") }), ErrInvalidTlogEntry, "inclusion promise"},
		{"v0.3 without proof", edit(t, v03, func(m map[string]any) { delete(entry0(m), "inclusionProof") }), ErrInvalidTlogEntry, "inclusion proof"},
		{"proof without checkpoint", edit(t, v03, func(m map[string]any) {
			delete(entry0(m)["inclusionProof"].(map[string]any), "checkpoint")
		}), ErrInvalidTlogEntry, "checkpoint"},
		{"no log ID", edit(t, v03, func(m map[string]any) { delete(entry0(m), "logId") }), ErrInvalidTlogEntry, "log ID"},
		{"no kind", edit(t, v03, func(m map[string]any) { delete(entry0(m), "kindVersion") }), ErrInvalidTlogEntry, "kind"},
		{"negative index", edit(t, v03, func(m map[string]any) { entry0(m)["logIndex"] = "-1" }), ErrInvalidTlogEntry, "negative"},
		{"no body", edit(t, v03, func(m map[string]any) { delete(entry0(m), "canonicalizedBody") }), ErrInvalidTlogEntry, "body"},
		{"body not JSON", edit(t, v03, func(m map[string]any) { entry0(m)["canonicalizedBody"] = "AAAA" }), ErrInvalidTlogEntry, "body"},
		{"kind mismatch", edit(t, v03, func(m map[string]any) {
			entry0(m)["kindVersion"] = map[string]any{"kind": "dsse", "version": "0.0.1"}
		}), ErrInvalidTlogEntry, "do not match"},
		{"unsupported entry type", edit(t, v03, func(m map[string]any) {
			entry0(m)["canonicalizedBody"] = "eyJraW5kIjoicmVrb3JkIiwiYXBpVmVyc2lvbiI6IjAuMC4xIn0=" // {"kind":"rekord","apiVersion":"0.0.1"}
		}), ErrInvalidTlogEntry, "unsupported entry type"},
		{"too many entries", edit(t, v03, func(m map[string]any) {
			e := entry0(m)
			var es []any
			for range MaxTlogEntries + 1 {
				es = append(es, e)
			}
			vm(m)["tlogEntries"] = es
		}), ErrInvalid, "too many tlog entries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.data)
			if !errors.Is(err, tt.wantErr) || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Decode error = %v, want %v containing %q", err, tt.wantErr, tt.wantMsg)
			}
		})
	}
}

func TestMediaTypeVersion(t *testing.T) {
	for _, v := range []string{"v0.1", "v0.2", "v0.3"} {
		mt, err := MediaType(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Version(mt)
		if err != nil || got != v {
			t.Errorf("Version(MediaType(%q)) = %q, %v", v, got, err)
		}
	}
	if _, err := MediaType("0.4"); !errors.Is(err, ErrUnsupportedMediaType) {
		t.Errorf("MediaType(0.4) error = %v", err)
	}
}

// FuzzDecode checks that decoding never panics and that a decoded bundle
// survives an encode/decode round trip unchanged.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.sigstore.json"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Decode(data)
		if err != nil {
			return
		}
		_ = b.Signature()
		_ = b.Timestamps()
		out, err := b.Encode()
		if err != nil {
			t.Fatalf("encode decoded bundle: %v", err)
		}
		b2, err := Decode(out)
		if err != nil {
			t.Fatalf("decode re-encoded bundle: %v", err)
		}
		if !proto.Equal(b.Proto(), b2.Proto()) {
			t.Fatal("round trip changed the bundle")
		}
	})
}
