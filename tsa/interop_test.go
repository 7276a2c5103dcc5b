package tsa

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/timestamp-authority/v2/pkg/verification"
)

const testTSAURI = "https://signet.example/api/v1/timestamp"

// trustedRootJSON renders chain as the timestampAuthorities entry of a
// trusted_root.json, the way signet's server publishes it.
func trustedRootJSON(t *testing.T, chain []*x509.Certificate) []byte {
	t.Helper()
	type rawCert struct {
		RawBytes string `json:"rawBytes"`
	}
	var certs []rawCert
	for _, c := range chain {
		certs = append(certs, rawCert{base64.StdEncoding.EncodeToString(c.Raw)})
	}
	doc := map[string]any{
		"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
		"timestampAuthorities": []any{map[string]any{
			"subject":   map[string]any{"organization": "signet", "commonName": chain[len(chain)-1].Subject.CommonName},
			"uri":       testTSAURI,
			"certChain": map[string]any{"certificates": certs},
			"validFor":  map[string]any{"start": chain[0].NotBefore.UTC().Format(time.RFC3339)},
		}},
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sigstoreRequest encodes a request the way sigstore-go's TSA client does:
// SHA-256 of the signature bytes, no nonce, no certReq.
func sigstoreRequest(t *testing.T, sig []byte) []byte {
	t.Helper()
	sum := sha256.Sum256(sig)
	req := timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:]}
	der, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// keyBundle returns a Sigstore bundle v0.3 for a key-signed blob whose only
// time evidence is the RFC 3161 timestamp tsResp.
func keyBundle(t *testing.T, artifact, sig, tsResp []byte) *bundle.Bundle {
	t.Helper()
	digest := sha256.Sum256(artifact)
	b, err := bundle.NewBundle(&protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: "signer"}},
			TimestampVerificationData: &protobundle.TimestampVerificationData{
				Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: tsResp}},
			},
		},
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest[:]},
			Signature:     sig,
		}},
	})
	if err != nil {
		t.Fatalf("bundle.NewBundle: %v", err)
	}
	return b
}

// TestSigstoreGoVerifiesTimestamp has sigstore-go v1.3.0 verify a key-signed
// bundle whose signing time comes only from a signet timestamp.
func TestSigstoreGoVerifiesTimestamp(t *testing.T) {
	issued := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	tsaKey := newKey(t)
	chain, err := CreateChain(newKey(t), tsaKey, ChainOptions{NotBefore: issued.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewAuthority(tsaKey, chain, Options{Now: func() time.Time { return issued }})
	if err != nil {
		t.Fatal(err)
	}
	otherChain, err := CreateChain(newKey(t), newKey(t), ChainOptions{NotBefore: issued.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}

	signerKey := newKey(t)
	artifact := []byte("artifact to sign")
	digest := sha256.Sum256(artifact)
	sig, err := ecdsa.SignASN1(rand.Reader, signerKey, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	keyVerifier, err := signature.LoadECDSAVerifier(&signerKey.PublicKey, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	keys := root.NewTrustedPublicKeyMaterialFromMapping(map[string]*root.ExpiringKey{
		"signer": root.NewExpiringKey(keyVerifier, time.Time{}, time.Time{}),
	})

	tsOverSig, err := a.Timestamp(sigstoreRequest(t, sig))
	if err != nil {
		t.Fatalf("Timestamp: %v", err)
	}
	tsOverOther, err := a.Timestamp(sigstoreRequest(t, append([]byte("x"), sig...)))
	if err != nil {
		t.Fatalf("Timestamp: %v", err)
	}

	tests := []struct {
		name    string
		chain   []*x509.Certificate
		ts      []byte
		wantErr string // empty: must verify
	}{
		{"our chain", chain, tsOverSig, ""},
		{"other signature bytes", chain, tsOverOther, "hashed messages don't match"},
		{"other chain", otherChain, tsOverSig, "unable to verify signed timestamps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trusted, err := root.NewTrustedRootFromJSON(trustedRootJSON(t, tt.chain))
			if err != nil {
				t.Fatalf("NewTrustedRootFromJSON: %v", err)
			}
			v, err := verify.NewVerifier(root.TrustedMaterialCollection{trusted, keys}, verify.WithSignedTimestamps(1))
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(keyBundle(t, artifact, sig, tt.ts), verify.NewPolicy(verify.WithArtifact(bytes.NewReader(artifact)), verify.WithKey()))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Verify error %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if len(res.VerifiedTimestamps) != 1 {
				t.Fatalf("got %d verified timestamps, want 1", len(res.VerifiedTimestamps))
			}
			got := res.VerifiedTimestamps[0]
			if got.Type != "TimestampAuthority" || got.URI != testTSAURI || !got.Timestamp.Equal(issued) {
				t.Errorf("verified timestamp %+v, want type TimestampAuthority, URI %s, time %s", got, testTSAURI, issued)
			}
		})
	}
}

// TestSigstoreTSAVerifiesRequestOptions checks nonce, policy and certReq
// handling with the verifier of Sigstore's timestamp-authority, which
// sigstore-go calls underneath.
func TestSigstoreTSAVerifiesRequestOptions(t *testing.T) {
	a, _ := newTestAuthority(t, Options{})
	chain := a.Chain()
	sig := []byte("signature bytes")
	sum := sha256.Sum256(sig)
	nonce := big.NewInt(0x5EED)
	for _, certReq := range []bool{false, true} {
		req := timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: sum[:], Nonce: nonce, Certificates: certReq, TSAPolicyOID: defaultPolicy}
		der, err := req.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := a.Timestamp(der)
		if err != nil {
			t.Fatalf("Timestamp(certReq=%v): %v", certReq, err)
		}
		opts := verification.VerifyOpts{
			OID:   defaultPolicy,
			Roots: chain[1:],
			Nonce: nonce,
		}
		if !certReq {
			// Without certReq the token has no certificates; the verifier
			// needs the leaf from the trusted root, as sigstore-go passes it.
			opts.TSACertificate = chain[0]
		}
		if _, err := verification.VerifyTimestampResponse(resp, bytes.NewReader(sig), opts); err != nil {
			t.Errorf("VerifyTimestampResponse(certReq=%v): %v", certReq, err)
		}
		opts.Nonce = big.NewInt(1)
		if _, err := verification.VerifyTimestampResponse(resp, bytes.NewReader(sig), opts); err == nil {
			t.Errorf("VerifyTimestampResponse(certReq=%v) accepted a wrong nonce", certReq)
		}
	}
}
