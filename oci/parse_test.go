package oci_test

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/trustroot"
	"github.com/signetproject/signet/verify"
)

const testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseSimpleSigning(t *testing.T) {
	good := `{"critical":{"identity":{"docker-reference":"reg.example/app"},"image":{"docker-manifest-digest":"` + testDigest +
		`"},"type":"cosign container image signature"},"optional":%s}`
	tests := []struct {
		name    string
		in      string
		want    *oci.SimpleSigning
		wantErr string
	}{
		{name: "cosign, no annotations", in: strings.Replace(good, "%s", "null", 1),
			want: &oci.SimpleSigning{DockerReference: "reg.example/app", ManifestDigest: testDigest}},
		{name: "annotations", in: strings.Replace(good, "%s", `{"env":"prod","n":1}`, 1),
			want: &oci.SimpleSigning{DockerReference: "reg.example/app", ManifestDigest: testDigest,
				Optional: map[string]any{"env": "prod", "n": json.Number("1")}}},
		{name: "no optional", in: strings.Replace(good, `,"optional":%s`, "", 1),
			want: &oci.SimpleSigning{DockerReference: "reg.example/app", ManifestDigest: testDigest}},
		{name: "wrong type", in: strings.Replace(strings.Replace(good, "%s", "null", 1), "cosign container", "atomic container", 1),
			wantErr: "critical.type"},
		{name: "unknown critical field", in: strings.Replace(strings.Replace(good, "%s", "null", 1), `"type"`, `"extra":1,"type"`, 1),
			wantErr: "unknown field"},
		{name: "unknown top-level field", in: strings.Replace(good, "%s", `null,"x":1`, 1), wantErr: "unknown field"},
		{name: "duplicate digest", in: strings.Replace(strings.Replace(good, "%s", "null", 1), `"type"`,
			`"image":{"docker-manifest-digest":"`+testDigest+`"},"type"`, 1), wantErr: "duplicate JSON key"},
		{name: "uppercase digest", in: strings.Replace(strings.Replace(good, "%s", "null", 1), "abcdef0123456789abcdef\"", "ABCDEF0123456789abcdef\"", 1),
			wantErr: "not sha256"},
		{name: "sha512 digest", in: strings.Replace(strings.Replace(good, "%s", "null", 1), "sha256:", "sha512:", 1), wantErr: "not sha256"},
		{name: "missing identity", in: `{"critical":{"image":{"docker-manifest-digest":"` + testDigest + `"},"type":"cosign container image signature"}}`,
			wantErr: "docker-reference"},
		{name: "missing critical", in: `{"optional":{}}`, wantErr: "missing critical"},
		{name: "trailing data", in: strings.Replace(good, "%s", "null", 1) + "{}", wantErr: "trailing"},
		{name: "array", in: `[]`, wantErr: "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := oci.ParseSimpleSigning([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestSimpleSigningMatchesCosign pins the payload bytes cosign writes
// (sigstore's payload.Cosign{Image, Annotations}.MarshalJSON).
func TestSimpleSigningMatchesCosign(t *testing.T) {
	got, err := (&oci.SimpleSigning{DockerReference: "reg.example/app", ManifestDigest: testDigest}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"critical":{"identity":{"docker-reference":"reg.example/app"},"image":{"docker-manifest-digest":"` + testDigest +
		`"},"type":"cosign container image signature"},"optional":null}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPredicateTypeURI(t *testing.T) {
	tests := []struct{ in, want, wantErr string }{
		{in: "slsaprovenance", want: "https://slsa.dev/provenance/v0.2"},
		{in: "slsaprovenance02", want: "https://slsa.dev/provenance/v0.2"},
		{in: "slsaprovenance1", want: "https://slsa.dev/provenance/v1"},
		{in: "spdxjson", want: "https://spdx.dev/Document"},
		{in: "cyclonedx", want: "https://cyclonedx.org/bom"},
		{in: "vuln", want: "https://cosign.sigstore.dev/attestation/vuln/v1"},
		{in: "openvex", want: "https://openvex.dev/ns"},
		{in: "custom", want: "https://cosign.sigstore.dev/attestation/v1"},
		{in: "link", want: "https://in-toto.io/Link/v1"},
		{in: "https://example.com/my/v1", want: "https://example.com/my/v1"},
		{in: "provenance", wantErr: "invalid predicate type"},
	}
	for _, tt := range tests {
		got, err := oci.PredicateTypeURI(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("PredicateTypeURI(%q) err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("PredicateTypeURI(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestNewStatement(t *testing.T) {
	img, err := name.NewDigest("reg.example/app@" + testDigest)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name, typ, predicate string
		wantType             string
		wantPredicate        string
		wantErr              string
	}{
		{name: "custom wraps the data", typ: "custom", predicate: "hello",
			wantType: oci.PredicateCustom, wantPredicate: `{"Data":"hello","Timestamp":"2025-01-02T03:04:05Z"}`},
		{name: "slsa v0.2 drops unknown fields", typ: "slsaprovenance", predicate: `{"builder":{"id":"b"},"buildType":"t","junk":1}`,
			wantType: oci.PredicateSLSA02, wantPredicate: `{"buildType":"t","builder":{"id":"b"}}`},
		{name: "slsa v1 renames invocationID", typ: "slsaprovenance1",
			predicate:     `{"buildDefinition":{"buildType":"t"},"runDetails":{"builder":{"id":"b"},"metadata":{"invocationID":"42"}}}`,
			wantType:      oci.PredicateSLSA1,
			wantPredicate: `{"buildDefinition":{"buildType":"t"},"runDetails":{"builder":{"id":"b"},"metadata":{"invocationId":"42"}}}`},
		{name: "vuln fills cosign's schema", typ: "vuln", predicate: `{"scanner":{"uri":"trivy","version":"1","result":{}}}`,
			wantType: oci.PredicateVuln,
			wantPredicate: `{"invocation":{"parameters":null,"uri":"","event_id":"","builder.id":""},` +
				`"scanner":{"uri":"trivy","version":"1","db":{"uri":"","version":""},"result":{}},` +
				`"metadata":{"scanStartedOn":"0001-01-01T00:00:00Z","scanFinishedOn":"0001-01-01T00:00:00Z"}}`},
		{name: "URI type keeps the object", typ: "https://example.com/p/v1", predicate: `{"a":[1,2]}`,
			wantType: "https://example.com/p/v1", wantPredicate: `{"a":[1,2]}`},
		{name: "openvex needs an object", typ: "openvex", predicate: `"x"`, wantErr: "not a JSON object"},
		{name: "spdx string predicate refused", typ: "spdx", predicate: `SPDXVersion: SPDX-2.3`, wantErr: "use spdxjson"},
		{name: "bad slsa", typ: "slsaprovenance", predicate: `{"builder":"x"}`, wantErr: "slsaprovenance predicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := oci.NewStatement(img, tt.typ, []byte(tt.predicate), now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := &oci.Statement{Type: oci.StatementTypeV01, PredicateType: tt.wantType,
				Subject:   []oci.Subject{{Name: "reg.example/app", Digest: map[string]string{"sha256": testDigest[7:]}}},
				Predicate: json.RawMessage(tt.wantPredicate)}
			if diff := cmp.Diff(want, st); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			raw, err := st.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			back, err := oci.ParseStatement(raw)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(st, back); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLayerBundleErrors(t *testing.T) {
	payload, _ := (&oci.SimpleSigning{DockerReference: "r/a", ManifestDigest: testDigest}).Marshal()
	sig := "MEUCIQ=="
	tests := []struct {
		name    string
		layer   oci.Layer
		wantErr string
	}{
		{name: "no signature", layer: oci.Layer{MediaType: oci.MediaTypeSimpleSigning, Payload: payload}, wantErr: "missing annotation"},
		{name: "bad base64", layer: oci.Layer{MediaType: oci.MediaTypeSimpleSigning, Payload: payload,
			Annotations: map[string]string{oci.AnnotationSignature: "!!"}}, wantErr: "illegal base64"},
		{name: "certificate not PEM", layer: oci.Layer{MediaType: oci.MediaTypeSimpleSigning, Payload: payload,
			Annotations: map[string]string{oci.AnnotationSignature: sig, oci.AnnotationCertificate: "hello"}}, wantErr: "not PEM"},
		{name: "chain without certificate", layer: oci.Layer{MediaType: oci.MediaTypeSimpleSigning, Payload: payload,
			Annotations: map[string]string{oci.AnnotationSignature: sig, oci.AnnotationChain: "x"}}, wantErr: "without"},
		{name: "timestamp not JSON", layer: oci.Layer{MediaType: oci.MediaTypeSimpleSigning, Payload: payload,
			Annotations: map[string]string{oci.AnnotationSignature: sig, oci.AnnotationRFC3161Timestamp: "MII="}}, wantErr: oci.AnnotationRFC3161Timestamp},
		{name: "timestamp unknown field", layer: oci.Layer{MediaType: oci.MediaTypeSimpleSigning, Payload: payload,
			Annotations: map[string]string{oci.AnnotationSignature: sig, oci.AnnotationRFC3161Timestamp: `{"SignedRFC3161Timestamp":"MII=","x":1}`}},
			wantErr: "unknown field"},
		{name: "rekor bundle incomplete", layer: oci.Layer{MediaType: oci.MediaTypeSimpleSigning, Payload: payload,
			Annotations: map[string]string{oci.AnnotationSignature: sig, oci.AnnotationBundle: `{"SignedEntryTimestamp":"MEU=","Payload":{"body":"e30="}}`}},
			wantErr: "incomplete"},
		{name: "DSSE layer not an envelope", layer: oci.Layer{MediaType: oci.MediaTypeDSSE, Payload: payload}, wantErr: "DSSE envelope"},
		{name: "unknown media type", layer: oci.Layer{MediaType: "text/plain", Payload: payload}, wantErr: "unsupported media type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.layer.Bundle()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
	// An empty SET (what cosign v3 writes for Rekor v2 entries) carries no
	// evidence and is ignored.
	l := oci.Layer{MediaType: oci.MediaTypeSimpleSigning, Payload: payload,
		Annotations: map[string]string{oci.AnnotationSignature: sig, oci.AnnotationBundle: `{"SignedEntryTimestamp":null,"Payload":{"body":"e30=","integratedTime":0,"logIndex":1,"logID":""}}`}}
	b, err := l.Bundle()
	if err != nil {
		t.Fatal(err)
	}
	if len(b.TlogEntries()) != 0 {
		t.Errorf("empty SET became a tlog entry")
	}
}

// TestLegacyRekorV1 turns a public-good bundle with a Rekor v1 entry into
// cosign's legacy attestation layer (SET in the bundle annotation) and
// back, and verifies the result with the public-good trusted root: the
// legacy annotations carry everything the verifier needs.
func TestLegacyRekorV1(t *testing.T) {
	orig, err := bundle.ReadFile("testdata/sigstore.js@2.0.0-provenance.sigstore.json")
	if err != nil {
		t.Fatal(err)
	}
	root, err := trustroot.LoadTrustedRootFile("testdata/trusted-root-public-good.json")
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(root, verify.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	l, err := oci.AttestationLayer(orig, oci.PredicateSLSA02)
	if err != nil {
		t.Fatal(err)
	}
	var rb map[string]any
	if err := json.Unmarshal([]byte(l.Annotations[oci.AnnotationBundle]), &rb); err != nil {
		t.Fatalf("bundle annotation: %v", err)
	}
	if diff := cmp.Diff([]string{"Payload", "SignedEntryTimestamp"}, keys(rb)); diff != "" {
		t.Errorf("bundle annotation keys (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"body", "integratedTime", "logID", "logIndex"}, keys(rb["Payload"].(map[string]any))); diff != "" {
		t.Errorf("bundle annotation payload keys (-want +got):\n%s", diff)
	}
	b, err := l.Bundle()
	if err != nil {
		t.Fatal(err)
	}
	const workflow = "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
	res, err := v.Verify(b, verify.Artifact{UnsafeSkip: true}, verify.Policy{Identities: []verify.Identity{
		{SAN: workflow, Issuer: "https://token.actions.githubusercontent.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.TlogEntries) != 1 || res.TlogEntries[0].LogIndex != 31821305 || res.TlogEntries[0].IntegratedTime.IsZero() {
		t.Errorf("tlog entries = %+v", res.TlogEntries)
	}
	// Tampering with the SET is caught by the verifier.
	l.Annotations[oci.AnnotationBundle] = strings.Replace(l.Annotations[oci.AnnotationBundle], `"logIndex":31821305`, `"logIndex":31821306`, 1)
	if b, err = l.Bundle(); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(b, verify.Artifact{UnsafeSkip: true}, verify.Policy{UnsafeSkipIdentity: true}); err == nil {
		t.Error("tampered SET verified")
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
