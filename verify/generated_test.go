package verify

import (
	"crypto"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	sgroot "github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/signetproject/signet/bundle"
)

const (
	genIdentity = "builder@example.com"
	genIssuer   = "https://issuer.example.com"
	genStmt     = `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` +
		"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" + `"}}],"predicateType":"https://example.com/p","predicate":{}}`
)

// entityBundle turns a sigstore-go test entity into a v0.3 bundle.
func entityBundle(t testing.TB, e sgverify.SignedEntity, mediaType string) []byte {
	t.Helper()
	vc, err := e.VerificationContent()
	if err != nil {
		t.Fatal(err)
	}
	pb := &protobundle.Bundle{
		MediaType: mediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: vc.Certificate().Raw}},
		},
	}
	tss, _ := e.Timestamps()
	if len(tss) > 0 {
		pb.VerificationMaterial.TimestampVerificationData = &protobundle.TimestampVerificationData{}
		for _, ts := range tss {
			pb.VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps = append(
				pb.VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps, &protocommon.RFC3161SignedTimestamp{SignedTimestamp: ts})
		}
	}
	entries, err := e.TlogEntries()
	if err != nil {
		t.Fatal(err)
	}
	for _, te := range entries {
		tle := proto.Clone(te.TransparencyLogEntry()).(*protorekor.TransparencyLogEntry)
		if tle.KindVersion == nil { // the virtual Rekor v1 leaves it out
			var body struct{ Kind, APIVersion string }
			if err := json.Unmarshal(tle.CanonicalizedBody, &body); err != nil {
				t.Fatal(err)
			}
			tle.KindVersion = &protorekor.KindVersion{Kind: body.Kind, Version: body.APIVersion}
		}
		pb.VerificationMaterial.TlogEntries = append(pb.VerificationMaterial.TlogEntries, tle)
	}
	sc, err := e.SignatureContent()
	if err != nil {
		t.Fatal(err)
	}
	if env := sc.EnvelopeContent(); env != nil {
		raw := env.RawEnvelope()
		payload, err := base64.StdEncoding.DecodeString(raw.Payload)
		if err != nil {
			t.Fatal(err)
		}
		pb.Content = &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: payload, PayloadType: raw.PayloadType,
			Signatures: []*protodsse.Signature{{Sig: sc.Signature(), Keyid: raw.Signatures[0].KeyID}},
		}}
	} else {
		ms := sc.MessageSignatureContent()
		pb.Content = &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: ms.Digest()},
			Signature:     ms.Signature(),
		}}
	}
	out, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// generatedCases signs fresh bundles with sigstore-go's virtual Sigstore
// (CA, TSA, Rekor v1 and v2 logs): Rekor v2 hashedrekord over a DSSE PAE,
// and Rekor v1 intoto with an inclusion proof, each with an RFC 3161
// timestamp. (The virtual Rekor v1 drops the inclusion promise from the
// entries it returns, so message signatures are covered by the vectors.)
func generatedCases(t testing.TB) []*diffCase {
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	// The virtual Sigstore keys its logs by hex ID but stores the hex
	// string as the ID; the trusted root needs the raw bytes.
	rekorLogs := map[string]*sgroot.TransparencyLog{}
	for id, l := range vs.RekorLogs() {
		raw, err := hex.DecodeString(id)
		if err != nil {
			t.Fatal(err)
		}
		cp := *l
		cp.ID = raw
		rekorLogs[id] = &cp
	}
	tr, err := sgroot.NewTrustedRoot(sgroot.TrustedRootMediaType01, vs.FulcioCertificateAuthorities(), nil,
		vs.TimestampingAuthorities(), rekorLogs)
	if err != nil {
		t.Fatal(err)
	}
	rootJSON, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	policy := Policy{Identities: []Identity{{SAN: genIdentity, Issuer: genIssuer}}}
	both := Options{TlogThreshold: 1, SignedTimestampThreshold: 1, UnsafeSkipSCT: true}
	observer := Options{TlogThreshold: 1, ObserverTimestampThreshold: 1, UnsafeSkipSCT: true}

	v2, err := vs.AttestHashedRekordV2(genIdentity, genIssuer, []byte(genStmt))
	if err != nil {
		t.Fatal(err)
	}
	v1, err := vs.AttestAtTime(genIdentity, genIssuer, []byte(genStmt), time.Now(), true)
	if err != nil {
		t.Fatal(err)
	}
	subject := Artifact{Digest: mustHex("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"), DigestAlgorithm: crypto.SHA256}
	return []*diffCase{
		{name: "generated rekor v2 dsse", bundle: entityBundle(t, v2, bundle.MediaType03), rootJSON: rootJSON, opts: both, artifact: subject, policy: policy},
		{name: "generated rekor v1 dsse", bundle: entityBundle(t, v1, bundle.MediaType03), rootJSON: rootJSON, opts: observer, artifact: subject, policy: policy},
	}
}

func TestGenerated(t *testing.T) {
	for _, c := range generatedCases(t) {
		t.Run(c.name, func(t *testing.T) {
			if err := c.sigstoreGo(c.bundle); err != nil {
				t.Fatalf("sigstore-go rejects the generated bundle: %v", err)
			}
			if err := c.signet(c.bundle); err != nil {
				t.Fatalf("signet: %v", err)
			}
		})
	}
}
