package tlog

import (
	"context"
	"crypto"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/signetproject/signet/tlog/internal/tlogtest"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	commonv1 "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	dssepb "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	rekorv1 "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	rekornote "github.com/sigstore/rekor-tiles/v2/pkg/note"
	rekorverify "github.com/sigstore/rekor-tiles/v2/pkg/verify"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

const testBaseURL = "https://" + testOrigin

// trustedRoot returns the sigstore-go trusted root a client would load from
// signet's trusted_root.json, listing l as its only transparency log.
func trustedRoot(t *testing.T, l *Log) *root.TrustedRoot {
	t.Helper()
	inst, err := l.TransparencyLogInstance(testBaseURL, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return tlogtest.TrustedRoot(t, inst)
}

func messageBundle(t *testing.T, s *testSigner, req *rekorpb.CreateEntryRequest, tle *rekorv1.TransparencyLogEntry, withCert bool) *bundle.Bundle {
	t.Helper()
	vm := &protobundle.VerificationMaterial{TlogEntries: []*rekorv1.TransparencyLogEntry{tle}}
	if withCert {
		vm.Content = &protobundle.VerificationMaterial_Certificate{Certificate: &commonv1.X509Certificate{RawBytes: s.Cert.Raw}}
	} else {
		vm.Content = &protobundle.VerificationMaterial_PublicKey{PublicKey: &commonv1.PublicKeyIdentifier{Hint: "client-key"}}
	}
	b, err := bundle.NewBundle(&protobundle.Bundle{
		MediaType:            "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: vm,
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &commonv1.MessageSignature{
			MessageDigest: &commonv1.HashOutput{Algorithm: commonv1.HashAlgorithm_SHA2_256, Digest: hr(req).Digest},
			Signature:     hr(req).Signature.Content,
		}},
	})
	if err != nil {
		t.Fatalf("sigstore-go rejects the bundle: %v", err)
	}
	return b
}

func envelopeBundle(t *testing.T, s *testSigner, env *dssepb.Envelope, tle *rekorv1.TransparencyLogEntry) *bundle.Bundle {
	t.Helper()
	b, err := bundle.NewBundle(&protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:     &protobundle.VerificationMaterial_Certificate{Certificate: &commonv1.X509Certificate{RawBytes: s.Cert.Raw}},
			TlogEntries: []*rekorv1.TransparencyLogEntry{tle},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: env},
	})
	if err != nil {
		t.Fatalf("sigstore-go rejects the bundle: %v", err)
	}
	return b
}

// roundTrip sends tle through its protojson wire form, as a client sees it.
func roundTrip(t *testing.T, tle *rekorv1.TransparencyLogEntry) *rekorv1.TransparencyLogEntry {
	t.Helper()
	js, err := EncodeTransparencyLogEntry(tle)
	if err != nil {
		t.Fatal(err)
	}
	out := &rekorv1.TransparencyLogEntry{}
	if err := protojson.Unmarshal(js, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAppendVerifiesWithSigstoreGo(t *testing.T) {
	ctx := context.Background()
	l := openTestLog(t, t.TempDir(), newLogKey(t), DefaultOptions())
	tr := trustedRoot(t, l)
	s := newTestSigner(t)

	clientKey, err := signature.LoadVerifier(s.Key.Public(), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	withClientKey := root.TrustedMaterialCollection{tr, root.NewTrustedPublicKeyMaterialFromMapping(map[string]*root.ExpiringKey{
		"client-key": root.NewExpiringKey(clientKey, time.Time{}, time.Time{}),
	})}

	// hashedrekord with a certificate.
	certReq := s.HashedRekord(t, []byte("artifact with certificate"), s.CertVerifier())
	certTLE, err := l.Append(ctx, certReq)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify.VerifyTlogEntry(messageBundle(t, s, certReq, roundTrip(t, certTLE), true), tr, 1, false); err != nil {
		t.Errorf("sigstore-go rejects the hashedrekord entry (certificate): %v", err)
	}

	// hashedrekord with a public key.
	keyReq := s.HashedRekord(t, []byte("artifact with key"), s.KeyVerifier())
	keyTLE, err := l.Append(ctx, keyReq)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify.VerifyTlogEntry(messageBundle(t, s, keyReq, roundTrip(t, keyTLE), false), withClientKey, 1, false); err != nil {
		t.Errorf("sigstore-go rejects the hashedrekord entry (public key): %v", err)
	}

	// A DSSE envelope logged the way sigstore-go clients log it for Rekor v2:
	// a hashedrekord over the SHA-256 of the envelope's PAE.
	env := s.Envelope(t, "application/vnd.in-toto+json", []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[]}`))
	pae := sha256.Sum256(PAE(env.PayloadType, env.Payload))
	paeReq := &rekorpb.CreateEntryRequest{Spec: &rekorpb.CreateEntryRequest_HashedRekordRequestV002{HashedRekordRequestV002: &rekorpb.HashedRekordRequestV002{
		Digest:    pae[:],
		Signature: &rekorpb.Signature{Content: env.Signatures[0].Sig, Verifier: s.CertVerifier()},
	}}}
	paeTLE, err := l.Append(ctx, paeReq)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify.VerifyTlogEntry(envelopeBundle(t, s, env, roundTrip(t, paeTLE)), tr, 1, false); err != nil {
		t.Errorf("sigstore-go rejects the DSSE bundle's hashedrekord entry: %v", err)
	}

	// dsse v0.0.2: sigstore-go v1.3.0 no longer parses these entries, so check
	// them with the rekor-tiles checkpoint and inclusion verification that
	// sigstore-go runs for every Rekor v2 entry.
	dsseTLE, err := l.Append(ctx, dsseRequest(env, s.CertVerifier()))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dsseTLE.GetKindVersion().GetKind(), KindDSSE; got != want {
		t.Errorf("dsse entry kind = %q, want %q", got, want)
	}
	logKey, err := signature.LoadVerifier(l.PublicKey(), crypto.SHA512)
	if err != nil {
		t.Fatal(err)
	}
	nv, err := rekornote.NewNoteVerifier(testOrigin, logKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := rekorverify.VerifyLogEntry(roundTrip(t, dsseTLE), nv); err != nil {
		t.Errorf("rekor-tiles rejects the dsse entry: %v", err)
	}

	for i, tle := range []*rekorv1.TransparencyLogEntry{certTLE, keyTLE, paeTLE, dsseTLE} {
		if got := tle.GetLogIndex(); got != int64(i) {
			t.Errorf("entry %d has log index %d", i, got)
		}
		if tle.GetIntegratedTime() != 0 || tle.GetInclusionPromise() != nil {
			t.Errorf("entry %d has an integrated time or promise; Rekor v2 entries have neither", i)
		}
		if !strings.HasPrefix(tle.GetInclusionProof().GetCheckpoint().GetEnvelope(), testOrigin+"\n") {
			t.Errorf("entry %d checkpoint does not start with the origin: %q", i, tle.GetInclusionProof().GetCheckpoint().GetEnvelope())
		}
	}

	// The first entry, re-proved against the grown tree, still verifies.
	certTLE, err = l.EntryAt(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(certTLE.GetInclusionProof().GetHashes()); got != 2 {
		t.Fatalf("entry 0 in a tree of 4 has %d proof hashes, want 2", got)
	}
	if _, err := verify.VerifyTlogEntry(messageBundle(t, s, certReq, roundTrip(t, certTLE), true), tr, 1, false); err != nil {
		t.Errorf("sigstore-go rejects the hashedrekord entry read back with EntryAt: %v", err)
	}

	// Tampering must be caught.
	tampered := []struct {
		name   string
		bundle func() *bundle.Bundle
	}{
		{"proof hash", func() *bundle.Bundle {
			tle := proto.Clone(certTLE).(*rekorv1.TransparencyLogEntry)
			tle.InclusionProof.Hashes[0][0] ^= 1
			return messageBundle(t, s, certReq, tle, true)
		}},
		{"log index", func() *bundle.Bundle {
			tle := proto.Clone(certTLE).(*rekorv1.TransparencyLogEntry)
			tle.LogIndex = 1
			return messageBundle(t, s, certReq, tle, true)
		}},
		{"checkpoint", func() *bundle.Bundle {
			tle := proto.Clone(certTLE).(*rekorv1.TransparencyLogEntry)
			cp := tle.InclusionProof.Checkpoint.Envelope
			tle.InclusionProof.Checkpoint.Envelope = strings.Replace(cp, "\n4\n", "\n5\n", 1)
			return messageBundle(t, s, certReq, tle, true)
		}},
		{"artifact digest", func() *bundle.Bundle {
			other := proto.Clone(certReq).(*rekorpb.CreateEntryRequest)
			hr(other).Digest[0] ^= 1
			return messageBundle(t, s, other, certTLE, true)
		}},
		{"signature", func() *bundle.Bundle {
			other := s.HashedRekord(t, []byte("artifact with certificate"), s.CertVerifier()) // fresh ECDSA signature
			return messageBundle(t, s, other, certTLE, true)
		}},
		{"signing certificate", func() *bundle.Bundle {
			return messageBundle(t, newTestSigner(t), certReq, certTLE, true)
		}},
		{"envelope payload", func() *bundle.Bundle {
			e := proto.Clone(env).(*dssepb.Envelope)
			e.Payload = []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{}]}`)
			return envelopeBundle(t, s, e, paeTLE)
		}},
	}
	for _, tc := range tampered {
		if _, err := verify.VerifyTlogEntry(tc.bundle(), tr, 1, false); err == nil {
			t.Errorf("sigstore-go accepts an entry with a tampered %s", tc.name)
		}
	}

	// A trusted root with another log key must not accept the entry.
	other := openTestLog(t, t.TempDir(), newLogKey(t), DefaultOptions())
	if _, err := verify.VerifyTlogEntry(messageBundle(t, s, certReq, certTLE, true), trustedRoot(t, other), 1, false); err == nil {
		t.Error("sigstore-go accepts an entry against another log's key")
	}
}
