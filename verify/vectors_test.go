package verify

import (
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/trustroot"
)

func readBundle(t testing.TB, name string) *bundle.Bundle {
	t.Helper()
	b, err := bundle.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readRoot(t testing.TB, name string) *trustroot.TrustedRoot {
	t.Helper()
	r, err := trustroot.LoadTrustedRootFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func readKey(t testing.TB, name string) crypto.PublicKey {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no PEM", name)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

const (
	sigstoreJSWorkflow = "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
	githubIssuer       = "https://token.actions.githubusercontent.com"
)

// TestVectors checks the public sigstore-go test vectors against the
// outcomes sigstore-go's own tests assert.
func TestVectors(t *testing.T) {
	tlogOpts := DefaultOptions()
	tsaOpts := Options{SignedTimestampThreshold: 1}
	othernameDigest := Artifact{Digest: mustHex("bc103b4a84971ef6459b294a2b98568a2bfb72cded09d4acd1e16366a401f95b"), DigestAlgorithm: crypto.SHA256}
	keyValidityDigest := Artifact{Digest: mustHex("6ae8a75555209fd6c44157c0aed8016e763ff435a19cf186f76863140143ff72"), DigestAlgorithm: crypto.SHA256}
	validityKey := readKey(t, "public-key-validity.pem")

	tests := []struct {
		name      string
		bundle    string
		root      string
		opts      Options
		artifact  Artifact
		policy    Policy
		wantCheck Check // "" means success
		wantSAN   string
		wantIndex []int64
	}{
		{
			name: "sigstore-js provenance", bundle: "sigstore.js@2.0.0-provenance.sigstore.json", root: "trusted-root-public-good.json",
			opts: tlogOpts, artifact: Artifact{UnsafeSkip: true},
			policy:  Policy{Identities: []Identity{{SAN: sigstoreJSWorkflow, Issuer: githubIssuer}}},
			wantSAN: sigstoreJSWorkflow, wantIndex: []int64{31821305},
		},
		{
			name: "sigstore-js provenance, regexp identity and GitHub claims", bundle: "sigstore.js@2.0.0-provenance.sigstore.json", root: "trusted-root-public-good.json",
			opts: tlogOpts, artifact: Artifact{UnsafeSkip: true},
			policy: Policy{Identities: []Identity{{SANRegexp: `sigstore/sigstore-js/`, IssuerRegexp: `githubusercontent`,
				GitHubWorkflowRepository: "sigstore/sigstore-js", GitHubWorkflowTrigger: "push"}}},
			wantSAN: sigstoreJSWorkflow, wantIndex: []int64{31821305},
		},
		{
			name: "sigstore-js provenance, wrong repository", bundle: "sigstore.js@2.0.0-provenance.sigstore.json", root: "trusted-root-public-good.json",
			opts: tlogOpts, artifact: Artifact{UnsafeSkip: true},
			policy:    Policy{Identities: []Identity{{SAN: sigstoreJSWorkflow, Issuer: githubIssuer, GitHubWorkflowRepository: "evil/sigstore-js"}}},
			wantCheck: CheckIdentity,
		},
		{
			name: "sigstore-js provenance, signed timestamps required", bundle: "sigstore.js@2.0.0-provenance.sigstore.json", root: "trusted-root-public-good.json",
			opts: Options{TlogThreshold: 1, SignedTimestampThreshold: 1}, artifact: Artifact{UnsafeSkip: true},
			policy:    Policy{UnsafeSkipIdentity: true},
			wantCheck: CheckTimestamp,
		},
		{
			name: "sigstore-js provenance, two logs required", bundle: "sigstore.js@2.0.0-provenance.sigstore.json", root: "trusted-root-public-good.json",
			opts: Options{TlogThreshold: 2, ObserverTimestampThreshold: 1}, artifact: Artifact{UnsafeSkip: true},
			policy:    Policy{UnsafeSkipIdentity: true},
			wantCheck: CheckTlog,
		},
		{
			name: "examples provenance", bundle: "examples-bundle-provenance.sigstore.json", root: "trusted-root-public-good.json",
			opts: tlogOpts, artifact: Artifact{UnsafeSkip: true},
			policy:  Policy{Identities: []Identity{{SAN: sigstoreJSWorkflow, Issuer: githubIssuer}}},
			wantSAN: sigstoreJSWorkflow, wantIndex: []int64{18300934},
		},
		{
			name: "dsse", bundle: "dsse.sigstore.json", root: "trusted-root-public-good.json",
			opts: tlogOpts, artifact: Artifact{UnsafeSkip: true},
			policy:  Policy{Identities: []Identity{{SAN: "brian@dehamer.com", Issuer: "https://github.com/login/oauth"}}},
			wantSAN: "brian@dehamer.com", wantIndex: []int64{6800908},
		},
		{
			name: "dsse with two signatures", bundle: "dsse-2sigs.sigstore.json", root: "trusted-root-public-good.json",
			opts: tlogOpts, artifact: Artifact{UnsafeSkip: true},
			policy:    Policy{Identities: []Identity{{SAN: "brian@dehamer.com", Issuer: "https://github.com/login/oauth"}}},
			wantCheck: CheckSignature,
		},
		{
			name: "othername", bundle: "othername.sigstore.json", root: "trusted-root-scaffolding.json",
			opts: tlogOpts, artifact: othernameDigest,
			policy:  Policy{Identities: []Identity{{SAN: "foo!oidc.local", Issuer: "http://oidc.local:8080"}}},
			wantSAN: "foo!oidc.local", wantIndex: []int64{3},
		},
		{
			name: "othername, wrong identity", bundle: "othername.sigstore.json", root: "trusted-root-scaffolding.json",
			opts: tlogOpts, artifact: othernameDigest,
			policy:    Policy{Identities: []Identity{{SAN: "foo@oidc.local", Issuer: "http://oidc.local:8080"}}},
			wantCheck: CheckIdentity,
		},
		{
			name: "othername, wrong artifact", bundle: "othername.sigstore.json", root: "trusted-root-scaffolding.json",
			opts: tlogOpts, artifact: Artifact{Digest: make([]byte, 32), DigestAlgorithm: crypto.SHA256},
			policy:    Policy{UnsafeSkipIdentity: true},
			wantCheck: CheckArtifact,
		},
		{
			name: "public key, valid", bundle: "public-key-validity.sigstore.json", root: "trusted-root-public-key-validity.json",
			opts: tsaOpts, artifact: keyValidityDigest,
			policy: Policy{Key: &TrustedKey{PublicKey: validityKey}},
		},
		{
			name: "public key, expired", bundle: "public-key-validity.sigstore.json", root: "trusted-root-public-key-validity.json",
			opts: tsaOpts, artifact: keyValidityDigest,
			policy:    Policy{Key: &TrustedKey{PublicKey: validityKey, ValidFor: trustroot.Window{Start: time.Unix(0, 0), End: time.Unix(1, 0)}}},
			wantCheck: CheckKey,
		},
		{
			name: "public key, identity required", bundle: "public-key-validity.sigstore.json", root: "trusted-root-public-key-validity.json",
			opts: tsaOpts, artifact: keyValidityDigest,
			policy:    Policy{Identities: []Identity{{SAN: "a", Issuer: "b"}}},
			wantCheck: CheckIdentity,
		},
		{
			name: "managed key", bundle: "examples-bundle-publish.sigstore.json", root: "trusted-root-public-good.json",
			opts: tlogOpts, artifact: Artifact{UnsafeSkip: true},
			policy:    Policy{Key: &TrustedKey{PublicKey: readKey(t, "examples-publish_key.pub")}},
			wantIndex: []int64{18300940},
		},
		{
			name: "managed key, wrong key", bundle: "examples-bundle-publish.sigstore.json", root: "trusted-root-public-good.json",
			opts: tlogOpts, artifact: Artifact{UnsafeSkip: true},
			policy:    Policy{Key: &TrustedKey{PublicKey: validityKey}},
			wantCheck: CheckSignature,
		},
		{
			name: "certificate bundle, key policy", bundle: "dsse.sigstore.json", root: "trusted-root-public-good.json",
			opts: tlogOpts, artifact: Artifact{UnsafeSkip: true},
			policy:    Policy{Key: &TrustedKey{PublicKey: validityKey}},
			wantCheck: CheckKey,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New(readRoot(t, tt.root), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(readBundle(t, tt.bundle), tt.artifact, tt.policy)
			var verr *Error
			switch {
			case tt.wantCheck == "" && err != nil:
				t.Fatalf("Verify: %v", err)
			case tt.wantCheck != "" && !errors.As(err, &verr):
				t.Fatalf("Verify error = %v, want a %s failure", err, tt.wantCheck)
			case tt.wantCheck != "":
				if verr.Check != tt.wantCheck {
					t.Fatalf("Verify failed check %s (%v), want %s", verr.Check, err, tt.wantCheck)
				}
				return
			}
			var san string
			if res.Certificate != nil {
				san = res.Certificate.SAN
			}
			var idx []int64
			for _, e := range res.TlogEntries {
				idx = append(idx, e.LogIndex)
			}
			if diff := cmp.Diff(struct {
				SAN   string
				Index []int64
			}{tt.wantSAN, tt.wantIndex}, struct {
				SAN   string
				Index []int64
			}{san, idx}); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if len(res.Timestamps) == 0 {
				t.Error("no verified timestamps in the result")
			}
		})
	}
}
