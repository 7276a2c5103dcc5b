package oidc_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/signetproject/signet/oidc"
)

func newDevIssuer(t *testing.T) *oidc.DevIssuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	d, err := oidc.NewDevIssuer("http://127.0.0.1:8080/oidc/", key)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// parseDevToken checks the token's signature with the issuer's key and
// returns its claims and key ID.
func parseDevToken(t *testing.T, d *oidc.DevIssuer, raw string) (map[string]any, string) {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := tok.Claims(d.PublicKey(), &claims); err != nil {
		t.Fatalf("token does not verify with the issuer key: %v", err)
	}
	return claims, tok.Headers[0].KeyID
}

func TestDevIssuerMint(t *testing.T) {
	d := newDevIssuer(t)
	if d.URL() != "http://127.0.0.1:8080/oidc" {
		t.Errorf("URL = %q, want trailing slash trimmed", d.URL())
	}
	now := time.Unix(1700000000, 0)
	base := map[string]any{"iss": d.URL(), "aud": "sigstore", "iat": 1700000000.0, "nbf": 1700000000.0, "exp": 1700000600.0}
	merge := func(extra map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	// Claims derived from a hash of the repository are compared by shape.
	ignoreHashes := cmpopts.IgnoreMapEntries(func(k string, _ any) bool {
		switch k {
		case "sha", "workflow_sha", "job_workflow_sha", "repository_id", "repository_owner_id", "actor_id":
			return true
		}
		return false
	})
	githubBase := func(repo, owner, ref, refType, workflowPath, name string) map[string]any {
		wf := repo + "/" + workflowPath + "@" + ref
		return merge(map[string]any{
			"sub": "repo:" + repo + ":ref:" + ref, "ref": ref, "ref_type": refType, "repository": repo,
			"repository_owner": owner, "repository_visibility": "public", "actor": owner, "workflow": name,
			"workflow_ref": wf, "job_workflow_ref": wf, "event_name": "push", "run_id": "1000000001",
			"run_number": "1", "run_attempt": "1", "runner_environment": "github-hosted", "head_ref": "", "base_ref": "",
		})
	}
	tests := []struct {
		name string
		req  oidc.TokenRequest
		want map[string]any
	}{
		{"email", oidc.TokenRequest{Email: "alice@example.com"},
			merge(map[string]any{"sub": "alice@example.com", "email": "alice@example.com", "email_verified": true})},
		{"subject", oidc.TokenRequest{Subject: "spiffe://example.org/builder"}, merge(map[string]any{"sub": "spiffe://example.org/builder"})},
		{"audience and ttl", oidc.TokenRequest{Subject: "builder", Audience: "signet", TTL: time.Hour},
			merge(map[string]any{"sub": "builder", "aud": "signet", "exp": 1700003600.0})},
		{"github branch", oidc.TokenRequest{GitHubWorkflow: "octo/app@main"},
			githubBase("octo/app", "octo", "refs/heads/main", "branch", ".github/workflows/release.yml", "release")},
		{"github full ref", oidc.TokenRequest{GitHubWorkflow: "octo/app@refs/heads/dev"},
			githubBase("octo/app", "octo", "refs/heads/dev", "branch", ".github/workflows/release.yml", "release")},
		{"github workflow file and tag", oidc.TokenRequest{GitHubWorkflow: "octo/app/.github/workflows/x.yml@refs/tags/v1"},
			githubBase("octo/app", "octo", "refs/tags/v1", "tag", ".github/workflows/x.yml", "x")},
		{"github yaml extension", oidc.TokenRequest{GitHubWorkflow: "octo/app/.github/workflows/build.yaml@v2"},
			githubBase("octo/app", "octo", "refs/heads/v2", "branch", ".github/workflows/build.yaml", "build")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := d.Mint(tt.req, now)
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			got, kid := parseDevToken(t, d, raw)
			if diff := cmp.Diff(tt.want, got, ignoreHashes); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
			if kid == "" {
				t.Error("token has no kid header")
			}
			if tt.req.GitHubWorkflow != "" {
				for _, k := range []string{"sha", "workflow_sha", "job_workflow_sha"} {
					if s, _ := got[k].(string); len(s) != 40 || s != got["sha"] {
						t.Errorf("%s = %v, want the same 40-hex commit as sha", k, got[k])
					}
				}
				for _, k := range []string{"repository_id", "repository_owner_id", "actor_id"} {
					if s, _ := got[k].(string); len(s) != 9 {
						t.Errorf("%s = %v, want a 9-digit ID", k, got[k])
					}
				}
			}
		})
	}
}

// TestDevTokensVerify runs minted tokens through a Verifier trusting the
// dev issuer and checks the identity they map to.
func TestDevTokensVerify(t *testing.T) {
	d := newDevIssuer(t)
	v, err := oidc.NewVerifier(nil, oidc.VerifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.AddStaticIssuer(d.Config(), d.PublicKey()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		req      oidc.TokenRequest
		wantSAN  string
		wantChal string
	}{
		{oidc.TokenRequest{Email: "alice@example.com"}, "alice@example.com", "alice@example.com"},
		{oidc.TokenRequest{Subject: "builder"}, "builder!127.0.0.1", "builder"},
		{oidc.TokenRequest{GitHubWorkflow: "octo/app/.github/workflows/x.yml@refs/tags/v1"},
			"https://github.com/octo/app/.github/workflows/x.yml@refs/tags/v1", "repo:octo/app:ref:refs/tags/v1"},
	}
	for _, tt := range tests {
		raw, err := d.Mint(tt.req, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		id, cfg, err := v.Verify(context.Background(), raw)
		if err != nil {
			t.Fatalf("Verify(%+v): %v", tt.req, err)
		}
		got := []string{id.Issuer, id.Email + id.URI + id.OtherName, id.Challenge, string(cfg.Type)}
		if diff := cmp.Diff([]string{d.URL(), tt.wantSAN, tt.wantChal, "dev"}, got); diff != "" {
			t.Errorf("%+v: issuer, SAN, challenge, type (-want +got):\n%s", tt.req, diff)
		}
	}
}

func TestDevIssuerMintErrors(t *testing.T) {
	d := newDevIssuer(t)
	tests := []struct {
		name    string
		req     oidc.TokenRequest
		wantMsg string
	}{
		{"nothing", oidc.TokenRequest{}, "exactly one"},
		{"email and subject", oidc.TokenRequest{Email: "a@example.com", Subject: "a"}, "exactly one"},
		{"all three", oidc.TokenRequest{Email: "a@example.com", Subject: "a", GitHubWorkflow: "o/r@main"}, "exactly one"},
		{"negative ttl", oidc.TokenRequest{Subject: "a", TTL: -time.Second}, "ttl"},
		{"ttl too long", oidc.TokenRequest{Subject: "a", TTL: oidc.MaxDevTokenTTL + time.Second}, "ttl"},
		{"not an email", oidc.TokenRequest{Email: "alice"}, "not an email address"},
		{"email with name", oidc.TokenRequest{Email: "Alice <alice@example.com>"}, "not an email address"},
		{"workflow without ref", oidc.TokenRequest{GitHubWorkflow: "octo/app"}, "want owner/repo@ref"},
		{"workflow empty ref", oidc.TokenRequest{GitHubWorkflow: "octo/app@"}, "want owner/repo@ref"},
		{"workflow without repo", oidc.TokenRequest{GitHubWorkflow: "octo@main"}, "want owner/repo@ref"},
		{"workflow empty owner", oidc.TokenRequest{GitHubWorkflow: "/app@main"}, "want owner/repo@ref"},
		{"workflow empty repo", oidc.TokenRequest{GitHubWorkflow: "octo/@main"}, "want owner/repo@ref"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := d.Mint(tt.req, time.Now())
			if err == nil {
				t.Fatalf("Mint = %q, want error", tok)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
		})
	}
	if tok, err := d.Mint(oidc.TokenRequest{Subject: "a", TTL: oidc.MaxDevTokenTTL}, time.Now()); err != nil || tok == "" {
		t.Errorf("Mint with the maximum TTL: %v", err)
	}
}

func TestNewDevIssuerKeys(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	for name, key := range map[string]crypto.Signer{"P-384": p384, "Ed25519": ed} {
		if _, err := oidc.NewDevIssuer("http://x.example", key); err == nil {
			t.Errorf("NewDevIssuer accepted a %s key", name)
		}
	}
}

func TestDevIssuerDocuments(t *testing.T) {
	d := newDevIssuer(t)
	var disc struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Token   string   `json:"token_endpoint"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
		Resp    []string `json:"response_types_supported"`
		Subj    []string `json:"subject_types_supported"`
	}
	if err := json.Unmarshal(d.Discovery(), &disc); err != nil {
		t.Fatalf("discovery is not JSON: %v", err)
	}
	want := struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Token   string   `json:"token_endpoint"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
		Resp    []string `json:"response_types_supported"`
		Subj    []string `json:"subject_types_supported"`
	}{d.URL(), d.URL() + "/jwks", d.URL() + "/token", []string{"ES256"}, []string{"id_token"}, []string{"public"}}
	if diff := cmp.Diff(want, disc); diff != "" {
		t.Errorf("discovery (-want +got):\n%s", diff)
	}

	var set jose.JSONWebKeySet
	if err := json.Unmarshal(d.JWKS(), &set); err != nil {
		t.Fatalf("JWKS is not a JSON Web Key Set: %v", err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS has %d keys, want 1", len(set.Keys))
	}
	k := set.Keys[0]
	if !k.IsPublic() || !k.Key.(*ecdsa.PublicKey).Equal(d.PublicKey()) {
		t.Error("JWKS key is not the issuer's public key")
	}
	raw, err := d.Mint(oidc.TokenRequest{Subject: "x"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, kid := parseDevToken(t, d, raw)
	if diff := cmp.Diff([]string{"ES256", "sig", kid}, []string{k.Algorithm, k.Use, k.KeyID}); diff != "" {
		t.Errorf("JWKS alg, use, kid (-want +got):\n%s", diff)
	}
}
