package oci

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"google.golang.org/protobuf/proto"
)

const fuzzDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// FuzzParseSimpleSigning: whatever parses re-encodes to a payload that
// parses to the same value.
func FuzzParseSimpleSigning(f *testing.F) {
	f.Add([]byte(`{"critical":{"identity":{"docker-reference":"r/a"},"image":{"docker-manifest-digest":"` + fuzzDigest +
		`"},"type":"cosign container image signature"},"optional":{"a":"b","n":[1,2.5,{"x":null}]}}`))
	f.Add([]byte(`{"critical":{"identity":{"docker-reference":""},"image":{"docker-manifest-digest":"` + fuzzDigest +
		`"},"type":"cosign container image signature"},"optional":null}`))
	f.Add([]byte(`{"critical":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSimpleSigning(data)
		if err != nil {
			return
		}
		raw, err := s.Marshal()
		if err != nil {
			t.Fatalf("Marshal of a parsed payload: %v", err)
		}
		back, err := ParseSimpleSigning(raw)
		if err != nil {
			t.Fatalf("re-parse %s: %v", raw, err)
		}
		if diff := cmp.Diff(s, back); diff != "" {
			t.Errorf("round trip (-first +second):\n%s", diff)
		}
	})
}

// FuzzParseStatement: a parsed statement re-encodes stably.
func FuzzParseStatement(f *testing.F) {
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"00"},"annotations":{"a":1}}],` +
		`"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v0.1","subject":[{"name":"r/a","digest":{"sha256":"00"}}],` +
		`"predicateType":"https://slsa.dev/provenance/v0.2","predicate":{"builder":{"id":"x"}}}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"00"}}],"predicateType":"p","predicate":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseStatement(data)
		if err != nil {
			return
		}
		raw, err := s.Marshal()
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		s2, err := ParseStatement(raw)
		if err != nil {
			t.Fatalf("re-parse %s: %v", raw, err)
		}
		raw2, err := s2.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(raw, raw2) {
			t.Errorf("unstable encoding:\n%s\n%s", raw, raw2)
		}
		for _, sub := range s.Subject {
			if len(sub.Digest) == 0 {
				t.Error("parsed a subject without digest")
			}
		}
	})
}

// FuzzParseEnvelope: a parsed envelope re-encodes to the same envelope.
func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte(`{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"keyid":"","sig":"MEUC"}]}`))
	f.Add([]byte(`{"payloadType":"x","payload":"","signatures":[{"sig":"AA=="},{"keyid":"k","sig":"AQ=="}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := ParseEnvelope(data)
		if err != nil {
			return
		}
		raw, err := json.Marshal(envelopeJSONFrom(env))
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseEnvelope(raw)
		if err != nil {
			t.Fatalf("re-parse %s: %v", raw, err)
		}
		if !proto.Equal(env, back) {
			t.Errorf("round trip: %v != %v", env, back)
		}
	})
}

// testCertPEM is a self-signed certificate for seeds.
func testCertPEM(tb testing.TB) string {
	tb.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		tb.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// FuzzLayerBundle parses legacy layer annotations. Property: whatever
// parses converts back to annotations (SignatureLayer / AttestationLayer)
// that parse to the same bundle.
func FuzzLayerBundle(f *testing.F) {
	cert := testCertPEM(f)
	payload, _ := (&SimpleSigning{DockerReference: "r/a", ManifestDigest: fuzzDigest}).Marshal()
	env := `{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"MEUC"}]}`
	f.Add(false, payload, "MEUCIQ==", cert, "", `{"SignedRFC3161Timestamp":"MIIB"}`, "")
	f.Add(false, payload, "MEUCIQ==", "", "", "", "")
	f.Add(true, []byte(env), "", cert, cert, "", "")
	f.Add(false, payload, "MEUCIQ==", cert, "", "", `{"SignedEntryTimestamp":"MEU=","Payload":{"body":"e30=","integratedTime":1,"logIndex":2,"logID":"`+
		fuzzDigest[7:]+`"}}`)
	f.Fuzz(func(t *testing.T, dsse bool, payload []byte, sig, cert, chain, ts, rekor string) {
		l := &Layer{MediaType: MediaTypeSimpleSigning, Payload: payload, Annotations: map[string]string{}}
		if dsse {
			l.MediaType = MediaTypeDSSE
		}
		for k, v := range map[string]string{AnnotationSignature: sig, AnnotationCertificate: cert, AnnotationChain: chain,
			AnnotationRFC3161Timestamp: ts, AnnotationBundle: rekor} {
			if v != "" {
				l.Annotations[k] = v
			}
		}
		b, err := l.Bundle()
		if err != nil {
			return
		}
		var l2 *Layer
		if dsse {
			l2, err = AttestationLayer(b, "p")
		} else {
			l2, err = SignatureLayer(payload, b)
		}
		if err != nil {
			t.Fatalf("back to a layer: %v", err)
		}
		b2, err := l2.Bundle()
		if err != nil {
			t.Fatalf("re-parse %v: %v", l2.Annotations, err)
		}
		if b.Version() == "v0.3" && !proto.Equal(b.Proto(), b2.Proto()) {
			t.Errorf("round trip:\n%v\n%v", b.Proto(), b2.Proto())
		}
		if !bytes.Equal(b.Signature(), b2.Signature()) || len(b.TlogEntries()) != len(b2.TlogEntries()) ||
			len(b.Timestamps()) != len(b2.Timestamps()) {
			t.Errorf("evidence lost in round trip")
		}
	})
}

// FuzzParseReferrerManifest: an accepted manifest refers to the subject,
// has the digest of its bytes, and the manifests AttachBundle writes are
// accepted with their artifact type and annotations.
func FuzzParseReferrerManifest(f *testing.F) {
	subject := v1.Hash{Algorithm: "sha256", Hex: fuzzDigest[7:]}
	good, err := referrerManifest(v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: subject, Size: 42},
		[]byte(`{"mediaType":"x"}`), "dsse-envelope", PredicateCosignSign, time.Unix(0, 0))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, "dsse-envelope", PredicateCosignSign, int64(42))
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/spdx+json","size":2,"digest":"`+
		fuzzDigest+`"},"layers":[],"subject":{"mediaType":"m","size":1,"digest":"`+fuzzDigest+`"}}`), "x", "y", int64(0))
	f.Fuzz(func(t *testing.T, raw []byte, content, predicateType string, size int64) {
		if r, err := ParseReferrerManifest(raw, subject); err == nil {
			if h := sha256.Sum256(raw); r.Digest.Hex != hex.EncodeToString(h[:]) {
				t.Errorf("digest %s is not the manifest's", r.Digest)
			}
			if r.ArtifactType == "" {
				t.Error("accepted a manifest without artifact type")
			}
		}
		if size < 0 {
			return
		}
		m, err := referrerManifest(v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: subject, Size: size},
			raw, content, predicateType, time.Unix(0, 0))
		if !utf8.ValidString(content) || !utf8.ValidString(predicateType) {
			if err == nil {
				t.Error("wrote a manifest with invalid UTF-8 annotations")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		r, err := ParseReferrerManifest(m, subject)
		if err != nil {
			t.Fatalf("own manifest rejected: %v", err)
		}
		want := map[string]string{AnnotationCreated: "1970-01-01T00:00:00Z", AnnotationBundleContent: content,
			AnnotationBundlePredicateType: predicateType}
		if r.ArtifactType != MediaTypeBundle03 || !cmp.Equal(want, r.Annotations) || len(r.Layers) != 1 ||
			r.Layers[0].Size != int64(len(raw)) {
			t.Errorf("own manifest read back as %+v", r)
		}
	})
}

// FuzzParsePEMCertificates parses the certificate and chain annotations.
// Property: the parsed certificates re-encode to PEM that parses to the
// same certificates.
func FuzzParsePEMCertificates(f *testing.F) {
	cert := testCertPEM(f)
	f.Add(cert)
	f.Add(cert + "\n" + cert)
	f.Add("")
	f.Add("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
	f.Add("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
	f.Fuzz(func(t *testing.T, s string) {
		certs, err := parsePEMCertificates(s)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		for _, c := range certs {
			buf.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
		}
		back, err := parsePEMCertificates(buf.String())
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if len(back) != len(certs) {
			t.Fatalf("%d certificates, re-parsed %d", len(certs), len(back))
		}
		for i := range certs {
			if !certs[i].Equal(back[i]) {
				t.Errorf("certificate %d changed in round trip", i)
			}
		}
	})
}

// FuzzParseRFC3161Annotation: an accepted annotation holds a non-empty
// timestamp that re-encodes (as evidenceAnnotations writes it) to an
// annotation that parses to the same bytes.
func FuzzParseRFC3161Annotation(f *testing.F) {
	f.Add(`{"SignedRFC3161Timestamp":"MIIB"}`)
	f.Add(`{"SignedRFC3161Timestamp":""}`)
	f.Add(`{"SignedRFC3161Timestamp":"MIIB","x":1}`)
	f.Add(`{"SignedRFC3161Timestamp":"MIIB","SignedRFC3161Timestamp":"AA=="}`)
	f.Fuzz(func(t *testing.T, v string) {
		ts, err := parseRFC3161Annotation(v)
		if err != nil {
			return
		}
		if len(ts) == 0 {
			t.Fatal("accepted an empty timestamp")
		}
		raw, err := json.Marshal(rfc3161JSON{SignedRFC3161Timestamp: ts})
		if err != nil {
			t.Fatal(err)
		}
		back, err := parseRFC3161Annotation(string(raw))
		if err != nil {
			t.Fatalf("re-parse %s: %v", raw, err)
		}
		if !bytes.Equal(ts, back) {
			t.Errorf("round trip changed the timestamp")
		}
	})
}

// FuzzParseRekorBundle parses cosign's Rekor bundle annotation. Property:
// an accepted entry re-encodes (as evidenceAnnotations writes it) to an
// annotation that parses to the same entry.
func FuzzParseRekorBundle(f *testing.F) {
	logID := fuzzDigest[7:]
	f.Add(`{"SignedEntryTimestamp":"MEU=","Payload":{"body":"e30=","integratedTime":1,"logIndex":2,"logID":"` + logID + `"}}`)
	f.Add(`{"SignedEntryTimestamp":"MEU=","Payload":{"body":"eyJraW5kIjoiaGFzaGVkcmVrb3JkIiwiYXBpVmVyc2lvbiI6IjAuMC4xIn0=","integratedTime":1700000000,"logIndex":0,"logID":"` + logID + `"}}`)
	f.Add(`{"SignedEntryTimestamp":"","Payload":null}`)
	f.Add(`{"SignedEntryTimestamp":"MEU=","Payload":{"body":"e30=","integratedTime":1,"logIndex":2}}`)
	f.Fuzz(func(t *testing.T, v string) {
		e, err := parseRekorBundle(v)
		if err != nil || e == nil {
			return
		}
		if len(e.GetInclusionPromise().GetSignedEntryTimestamp()) == 0 || len(e.GetLogId().GetKeyId()) != sha256.Size {
			t.Fatalf("accepted an entry without SET or log ID: %v", e)
		}
		raw, err := json.Marshal(rekorBundleJSON{
			SignedEntryTimestamp: e.GetInclusionPromise().GetSignedEntryTimestamp(),
			Payload: rekorPayloadJSON{
				Body:           base64.StdEncoding.EncodeToString(e.GetCanonicalizedBody()),
				IntegratedTime: e.GetIntegratedTime(),
				LogIndex:       e.GetLogIndex(),
				LogID:          hex.EncodeToString(e.GetLogId().GetKeyId()),
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		back, err := parseRekorBundle(string(raw))
		if err != nil {
			t.Fatalf("re-parse %s: %v", raw, err)
		}
		if !proto.Equal(e, back) {
			t.Errorf("round trip:\n%v\n%v", e, back)
		}
	})
}
