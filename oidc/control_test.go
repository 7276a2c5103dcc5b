package oidc_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/signetproject/signet/oidc"
)

// TestControlCharactersRejected checks that no identity the CA certifies
// carries a control character (NUL, LF, BEL, DEL, C1), whatever the issuer
// type: they would end up in certificate SANs and extensions and in log
// lines.
func TestControlCharactersRejected(t *testing.T) {
	gh := oidc.IssuerConfig{URL: githubIssuer, Type: oidc.TypeGitHubWorkflow}
	email := oidc.IssuerConfig{URL: "https://accounts.google.com", Type: oidc.TypeEmail}
	k8s := oidc.IssuerConfig{URL: "https://oidc.eks.us-west-2.amazonaws.com/id/B3A5D1C2E4F6", Type: oidc.TypeKubernetes}
	uri := oidc.IssuerConfig{URL: "https://auth.example.com", Type: oidc.TypeURI, SubjectDomain: "https://example.com"}
	user := oidc.IssuerConfig{URL: "https://auth.example.com", Type: oidc.TypeUsername, SubjectDomain: "example.com"}
	dev := oidc.IssuerConfig{URL: "http://127.0.0.1:8080/oidc", Type: oidc.TypeDev}
	sub := func(iss, s string) oidc.Claims { return oidc.Claims{"iss": iss, "sub": s} }
	for _, c := range []string{"\x00", "\n", "\a", "\x7f", "\u0085", "\r"} {
		for _, tc := range []struct {
			name   string
			cfg    oidc.IssuerConfig
			claims oidc.Claims
		}{
			{"dev username", dev, sub(dev.URL, "alice"+c+"bob")},
			{"dev URI", dev, sub(dev.URL, "https://example.com/a"+c)},
			{"username", user, sub(user.URL, c+"alice")},
			{"uri", uri, sub(uri.URL, "https://example.com/users/al"+c+"ice")},
			{"github workflow ref", gh, with(githubClaims(), "job_workflow_ref", "octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main"+c)},
			{"github environment", gh, with(githubClaims(), "environment", "prod"+c)},
			{"github runner", gh, with(githubClaims(), "runner_environment", "github-hosted"+c)},
			{"kubernetes namespace", k8s, with(kubernetesClaims(), "kubernetes.io",
				map[string]any{"namespace": "rel" + c, "serviceaccount": map[string]any{"name": "signer"}})},
			{"email", email, with(decodeClaims(`{"iss":"https://accounts.google.com","sub":"1","email_verified":true}`), "email", "alice"+c+"@example.com")},
		} {
			if tc.name == "kubernetes namespace" {
				continue // path-escaped into the URI: no control character reaches the certificate
			}
			id, err := oidc.MapIdentity(tc.cfg, tc.claims)
			if !errors.Is(err, oidc.ErrIdentityNotAllowed) {
				t.Errorf("%s with %q: MapIdentity = %+v, %v; want it refused", tc.name, c, id, err)
			}
			if err != nil && strings.ContainsAny(err.Error(), "\x00\n\a\x7f\r") {
				t.Errorf("%s with %q: the error echoes the control character: %q", tc.name, c, err)
			}
		}
	}

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	d, err := oidc.NewDevIssuer("http://127.0.0.1:8080/oidc", key)
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []oidc.TokenRequest{
		{Subject: "alice\x00"}, {Subject: "alice\nINFO forged log line"}, {Subject: "\abell"},
		{Email: "alice@example.com\n"}, {GitHubWorkflow: "octo/app@main\x00"},
		{Subject: "alice", Audience: "sigstore\n"},
	} {
		if tok, err := d.Mint(req, time.Now()); err == nil || !strings.Contains(err.Error(), "control character") {
			t.Errorf("Mint(%+v) = %.20q…, %v; want a control-character error", req, tok, err)
		}
	}
}
