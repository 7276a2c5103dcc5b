package rekorv1

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/signetproject/signet/tlog/internal/tlogtest"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	commonv1 "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	dssepb "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	rekorv1 "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/tle"
	rekorutil "github.com/sigstore/rekor/pkg/util"
	rekorv1verify "github.com/sigstore/rekor/pkg/verify"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgtlog "github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/proto"
)

// v1TrustedRoot returns the trusted root a client would load, listing l.
func v1TrustedRoot(t *testing.T, l *Log) *root.TrustedRoot {
	t.Helper()
	inst, err := l.TransparencyLogInstance(testBaseURL, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return tlogtest.TrustedRoot(t, inst)
}

// clientView sends e through its JSON wire form into Rekor's generated
// client model, as cosign ≤ 2.6 receives it, checks the model's schema, and
// returns the entry ID key and the LogEntryAnon.
func clientView(t *testing.T, e *LogEntry) (string, models.LogEntryAnon) {
	t.Helper()
	js, err := json.Marshal(e.Keyed())
	if err != nil {
		t.Fatal(err)
	}
	var le models.LogEntry
	if err := json.Unmarshal(js, &le); err != nil {
		t.Fatalf("Rekor's LogEntry model rejects %s: %v", js, err)
	}
	if err := le.Validate(strfmt.Default); err != nil {
		t.Fatalf("Rekor's LogEntry schema rejects %s: %v", js, err)
	}
	if len(le) != 1 {
		t.Fatalf("LogEntry has %d keys, want 1", len(le))
	}
	for k, v := range le {
		return k, v
	}
	panic("unreachable")
}

// v1TLE converts e into a bundle TransparencyLogEntry with an inclusion
// promise and proof, with the converter cosign uses for bundles.
func v1TLE(t *testing.T, e *LogEntry) *rekorv1.TransparencyLogEntry {
	t.Helper()
	_, anon := clientView(t, e)
	out, err := tle.GenerateTransparencyLogEntry(anon)
	if err != nil {
		t.Fatalf("GenerateTransparencyLogEntry: %v", err)
	}
	return out
}

func v1MessageBundle(t *testing.T, mediaType string, vm *protobundle.VerificationMaterial, digest, sig []byte, tle *rekorv1.TransparencyLogEntry) *bundle.Bundle {
	t.Helper()
	vm.TlogEntries = []*rekorv1.TransparencyLogEntry{tle}
	b, err := bundle.NewBundle(&protobundle.Bundle{
		MediaType:            mediaType,
		VerificationMaterial: vm,
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &commonv1.MessageSignature{
			MessageDigest: &commonv1.HashOutput{Algorithm: commonv1.HashAlgorithm_SHA2_256, Digest: digest},
			Signature:     sig,
		}},
	})
	if err != nil {
		t.Fatalf("sigstore-go rejects the bundle: %v", err)
	}
	return b
}

func v1EnvelopeBundle(t *testing.T, s *testSigner, envJSON []byte, tle *rekorv1.TransparencyLogEntry) *bundle.Bundle {
	t.Helper()
	var env struct {
		PayloadType string `json:"payloadType"`
		Payload     []byte `json:"payload"`
		Signatures  []struct {
			Sig []byte `json:"sig"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal(envJSON, &env); err != nil {
		t.Fatal(err)
	}
	b, err := bundle.NewBundle(&protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:     &protobundle.VerificationMaterial_Certificate{Certificate: &commonv1.X509Certificate{RawBytes: s.Cert.Raw}},
			TlogEntries: []*rekorv1.TransparencyLogEntry{tle},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &dssepb.Envelope{
			Payload:     env.Payload,
			PayloadType: env.PayloadType,
			Signatures:  []*dssepb.Signature{{Sig: env.Signatures[0].Sig}},
		}},
	})
	if err != nil {
		t.Fatalf("sigstore-go rejects the bundle: %v", err)
	}
	return b
}

func certMaterial(s *testSigner) *protobundle.VerificationMaterial {
	return &protobundle.VerificationMaterial{Content: &protobundle.VerificationMaterial_Certificate{Certificate: &commonv1.X509Certificate{RawBytes: s.Cert.Raw}}}
}

// verifyWithRekorV1Client checks e as cosign ≤ 2.6 does online: UUID = leaf
// hash of the body, inclusion proof, checkpoint signature and SET, with
// Rekor's own verification code.
func verifyWithRekorV1Client(t *testing.T, l *Log, e *LogEntry) error {
	t.Helper()
	id, anon := clientView(t, e)
	body, err := base64.StdEncoding.DecodeString(anon.Body.(string))
	if err != nil {
		return err
	}
	leaf := sha256.Sum256(append([]byte{0}, body...))
	if !strings.HasSuffix(id, hex.EncodeToString(leaf[:])) || len(id) != 80 {
		t.Errorf("entry ID %s does not end with the body's leaf hash %x", id, leaf)
	}
	v, err := signature.LoadVerifier(l.PublicKey(), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return rekorv1verify.VerifyLogEntry(context.Background(), &anon, v)
}

func TestV1EntriesVerifyWithSigstoreGo(t *testing.T) {
	ctx := context.Background()
	l := openTestV1Log(t, t.TempDir(), newV1LogKey(t))
	tr := v1TrustedRoot(t, l)
	s := newTestSigner(t)

	clientKey, err := signature.LoadVerifier(s.Key.Public(), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	withClientKey := root.TrustedMaterialCollection{tr, root.NewTrustedPublicKeyMaterialFromMapping(map[string]*root.ExpiringKey{
		"client-key": root.NewExpiringKey(clientKey, time.Time{}, time.Time{}),
	})}

	// hashedrekord with a certificate, in a v0.3 bundle.
	artifact := []byte("v1 artifact with certificate")
	digest := sha256.Sum256(artifact)
	sig := s.SignDigest(t, digest[:])
	certEntry, err := l.Create(ctx, v1HashedRekordJSON(t, hex.EncodeToString(digest[:]), sig, certPEM(t, s)))
	if err != nil {
		t.Fatal(err)
	}
	certTLE := v1TLE(t, certEntry)
	certBundle := v1MessageBundle(t, "application/vnd.dev.sigstore.bundle.v0.3+json", certMaterial(s), digest[:], sig, certTLE)
	ts, err := verify.VerifyTlogEntry(certBundle, tr, 1, true)
	if err != nil {
		t.Fatalf("sigstore-go rejects the hashedrekord entry (certificate): %v", err)
	}
	if len(ts) != 1 || ts[0].Time.Unix() != certEntry.IntegratedTime {
		t.Errorf("verified timestamps %v, want the integrated time %d", ts, certEntry.IntegratedTime)
	}

	// hashedrekord with a public key, in a v0.1 bundle (inclusion promise
	// required, as cosign ≤ 2.x wrote them).
	keyArtifact := []byte("v1 artifact with key")
	keyDigest := sha256.Sum256(keyArtifact)
	keySig := s.SignDigest(t, keyDigest[:])
	keyEntry, err := l.Create(ctx, v1HashedRekordJSON(t, hex.EncodeToString(keyDigest[:]), keySig, keyPEM(t, s)))
	if err != nil {
		t.Fatal(err)
	}
	keyVM := &protobundle.VerificationMaterial{Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &commonv1.PublicKeyIdentifier{Hint: "client-key"}}}
	keyBundle := v1MessageBundle(t, "application/vnd.dev.sigstore.bundle+json;version=0.1", keyVM, keyDigest[:], keySig, v1TLE(t, keyEntry))
	if _, err := verify.VerifyTlogEntry(keyBundle, withClientKey, 1, true); err != nil {
		t.Errorf("sigstore-go rejects the hashedrekord entry (public key, bundle v0.1): %v", err)
	}

	// intoto v0.0.2 and dsse v0.0.1 over the same kind of envelope.
	for _, kind := range []string{KindIntoto, KindDSSE} {
		envJSON, _ := v1Envelope(t, s, []byte("attested artifact "+kind))
		e, err := l.Create(ctx, v1ProposedEnvelopeEntry(t, kind, envJSON, certPEM(t, s)))
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		tle := v1TLE(t, e)
		if got := tle.GetKindVersion(); got.GetKind() != kind || got.GetVersion() != v1Versions[kind] {
			t.Errorf("%s entry has kind/version %s/%s", kind, got.GetKind(), got.GetVersion())
		}
		if _, err := verify.VerifyTlogEntry(v1EnvelopeBundle(t, s, envJSON, tle), tr, 1, true); err != nil {
			t.Errorf("sigstore-go rejects the %s entry: %v", kind, err)
		}
		if err := verifyWithRekorV1Client(t, l, e); err != nil {
			t.Errorf("Rekor's client verification rejects the %s entry: %v", kind, err)
		}
	}

	// The cosign v2 online path and sigstore-go's v1 entry helpers agree.
	for _, e := range []*LogEntry{certEntry, keyEntry} {
		if err := verifyWithRekorV1Client(t, l, e); err != nil {
			t.Errorf("Rekor's client verification rejects entry %d: %v", e.LogIndex, err)
		}
	}
	parsed, err := sgtlog.ParseTransparencyLogEntry(certTLE)
	if err != nil {
		t.Fatal(err)
	}
	if err := sgtlog.VerifySET(parsed, tr.RekorLogs()); err != nil {
		t.Errorf("sigstore-go VerifySET: %v", err)
	}
	sth := rekorutil.SignedCheckpoint{}
	if err := sth.UnmarshalText([]byte(certEntry.Verification.InclusionProof.Checkpoint)); err != nil {
		t.Fatal(err)
	}
	if want := testOrigin + " - "; sth.Origin != l.CheckpointOrigin() || !strings.HasPrefix(sth.Origin, want) {
		t.Errorf("checkpoint origin %q, want %q", sth.Origin, l.CheckpointOrigin())
	}

	// The first entry read back against the grown tree still verifies.
	again, err := l.EntryByUUID(ctx, certEntry.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if again.Verification.InclusionProof.TreeSize != 4 || again.IntegratedTime != certEntry.IntegratedTime {
		t.Errorf("entry read back: tree size %d, integrated time %d; want 4, %d", again.Verification.InclusionProof.TreeSize, again.IntegratedTime, certEntry.IntegratedTime)
	}
	againTLE := v1TLE(t, again)
	if _, err := verify.VerifyTlogEntry(v1MessageBundle(t, "application/vnd.dev.sigstore.bundle.v0.3+json", certMaterial(s), digest[:], sig, againTLE), tr, 1, true); err != nil {
		t.Errorf("sigstore-go rejects the entry read back: %v", err)
	}

	// Tampering must be caught, by bundle parsing or by verification.
	check := func(mediaType string, vm *protobundle.VerificationMaterial, d []byte, tle *rekorv1.TransparencyLogEntry) error {
		vm.TlogEntries = []*rekorv1.TransparencyLogEntry{tle}
		b, err := bundle.NewBundle(&protobundle.Bundle{
			MediaType:            mediaType,
			VerificationMaterial: vm,
			Content: &protobundle.Bundle_MessageSignature{MessageSignature: &commonv1.MessageSignature{
				MessageDigest: &commonv1.HashOutput{Algorithm: commonv1.HashAlgorithm_SHA2_256, Digest: d},
				Signature:     sig,
			}},
		})
		if err != nil {
			return err
		}
		_, err = verify.VerifyTlogEntry(b, tr, 1, true)
		return err
	}
	tamper := func(f func(tle *rekorv1.TransparencyLogEntry)) error {
		tle := proto.Clone(againTLE).(*rekorv1.TransparencyLogEntry)
		f(tle)
		return check("application/vnd.dev.sigstore.bundle.v0.3+json", certMaterial(s), digest[:], tle)
	}
	otherDigest := sha256.Sum256([]byte("another artifact"))
	tampered := []struct {
		name string
		err  error
	}{
		{"SET", tamper(func(tle *rekorv1.TransparencyLogEntry) { tle.InclusionPromise.SignedEntryTimestamp[10] ^= 1 })},
		{"integrated time", tamper(func(tle *rekorv1.TransparencyLogEntry) { tle.IntegratedTime-- })},
		{"log index", tamper(func(tle *rekorv1.TransparencyLogEntry) { tle.LogIndex = 1 })},
		{"proof hash", tamper(func(tle *rekorv1.TransparencyLogEntry) { tle.InclusionProof.Hashes[0][0] ^= 1 })},
		{"checkpoint", tamper(func(tle *rekorv1.TransparencyLogEntry) {
			tle.InclusionProof.Checkpoint.Envelope = strings.Replace(tle.InclusionProof.Checkpoint.Envelope, "\n4\n", "\n5\n", 1)
		})},
		{"body", tamper(func(tle *rekorv1.TransparencyLogEntry) {
			tle.CanonicalizedBody = bytes.Replace(tle.CanonicalizedBody, []byte(hex.EncodeToString(digest[:])), []byte(hex.EncodeToString(otherDigest[:])), 1)
		})},
		{"artifact digest", check("application/vnd.dev.sigstore.bundle.v0.3+json", certMaterial(s), otherDigest[:], againTLE)},
		{"signing certificate", check("application/vnd.dev.sigstore.bundle.v0.3+json", certMaterial(newTestSigner(t)), digest[:], againTLE)},
	}
	for _, tc := range tampered {
		if tc.err == nil {
			t.Errorf("sigstore-go accepts an entry with a tampered %s", tc.name)
		}
	}

	// Rekor's client rejects a tampered SET or checkpoint, too.
	bad := *certEntry
	bad.Verification.SignedEntryTimestamp = bytes.Clone(certEntry.Verification.SignedEntryTimestamp)
	bad.Verification.SignedEntryTimestamp[8] ^= 1
	if verifyWithRekorV1Client(t, l, &bad) == nil {
		t.Error("Rekor's client accepts a tampered SET")
	}

	// A trusted root with another log's key must not accept the entry.
	other := openTestV1Log(t, t.TempDir(), newV1LogKey(t))
	if _, err := verify.VerifyTlogEntry(certBundle, v1TrustedRoot(t, other), 1, true); err == nil {
		t.Error("sigstore-go accepts an entry against another log's key")
	}
}
