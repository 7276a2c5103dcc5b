package oidc_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/signetproject/signet/oidc"
)

// fuzzIssuers are the issuer configurations FuzzMapIdentity maps claims
// for, one per issuer type; the fuzzer picks one by index.
var fuzzIssuers = []oidc.IssuerConfig{
	{URL: "https://accounts.google.com", Type: oidc.TypeEmail},
	{URL: githubIssuer, Type: oidc.TypeGitHubWorkflow},
	{URL: gitlabIssuer, Type: oidc.TypeGitLabPipeline},
	{URL: "https://spire.example.org", Type: oidc.TypeSPIFFE, SPIFFETrustDomain: "example.org"},
	{URL: "https://oidc.eks.us-west-2.amazonaws.com/id/B3A5D1C2E4F6", Type: oidc.TypeKubernetes},
	{URL: "https://auth.example.com", Type: oidc.TypeURI, SubjectDomain: "https://example.com"},
	{URL: "https://auth.example.com", Type: oidc.TypeUsername, SubjectDomain: "example.com"},
	{URL: "http://127.0.0.1:8080/oidc", Type: oidc.TypeDev},
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzMapIdentity maps arbitrary claim sets: MapIdentity must never panic,
// errors must wrap ErrIdentityNotAllowed, and an identity it returns has
// exactly one SAN, one a certificate can carry, and the token's issuer.
func FuzzMapIdentity(f *testing.F) {
	f.Add(uint8(0), []byte(`{"iss":"https://accounts.google.com","sub":"1234","email":"alice@example.com","email_verified":true}`))
	f.Add(uint8(0), []byte(`{"iss":"https://accounts.google.com","sub":"1234","email":"alice@example.com","email_verified":"false"}`))
	f.Add(uint8(1), mustJSON(githubClaims()))
	f.Add(uint8(2), mustJSON(gitlabClaims()))
	f.Add(uint8(3), []byte(`{"iss":"https://spire.example.org","sub":"spiffe://example.org/ns/prod/sa/builder"}`))
	f.Add(uint8(4), mustJSON(kubernetesClaims()))
	f.Add(uint8(5), []byte(`{"iss":"https://auth.example.com","sub":"https://example.com/users/alice"}`))
	f.Add(uint8(6), []byte(`{"iss":"https://auth.example.com","sub":"alice"}`))
	f.Add(uint8(7), []byte(`{"iss":"http://127.0.0.1:8080/oidc","sub":"builder"}`))
	f.Add(uint8(7), mustJSON(with(githubClaims(), "iss", "http://127.0.0.1:8080/oidc")))
	f.Fuzz(func(t *testing.T, which uint8, claimsJSON []byte) {
		var c oidc.Claims
		if err := json.Unmarshal(claimsJSON, &c); err != nil {
			return
		}
		cfg := fuzzIssuers[int(which)%len(fuzzIssuers)]
		id, err := oidc.MapIdentity(cfg, c)
		if err != nil {
			if !errors.Is(err, oidc.ErrIdentityNotAllowed) {
				t.Fatalf("error %v does not wrap ErrIdentityNotAllowed", err)
			}
			return
		}
		sans := 0
		for _, s := range []string{id.Email, id.URI, id.OtherName} {
			if s != "" {
				sans++
			}
		}
		if sans != 1 {
			t.Fatalf("identity has %d SANs: %+v", sans, id)
		}
		if iss, _ := c.String("iss"); id.Issuer != iss {
			t.Fatalf("issuer %q, want the iss claim %q", id.Issuer, iss)
		}
		if id.Challenge == "" {
			t.Fatalf("identity has no challenge: %+v", id)
		}
		if id.Email != "" && id.Challenge != id.Email {
			t.Fatalf("email identity challenge %q, want the email %q", id.Challenge, id.Email)
		}
		for _, r := range id.Email {
			if r > 0x7f {
				t.Fatalf("email SAN %q is not ASCII (rfc822Name is an IA5String)", id.Email)
			}
		}
		if id.URI != "" {
			if u, err := url.Parse(id.URI); err != nil || u.Scheme == "" {
				t.Fatalf("URI SAN %q is not an absolute URI: %v", id.URI, err)
			}
		}
		if strings.Count(id.OtherName, "!") > 1 {
			t.Fatalf("username SAN %q has more than one '!'", id.OtherName)
		}
	})
}

// FuzzUnverifiedIssuer: UnverifiedIssuer never panics, its errors wrap
// ErrInvalidToken, an issuer it returns is the payload's iss, and any
// non-empty issuer put in a token comes back unchanged.
func FuzzUnverifiedIssuer(f *testing.F) {
	enc := base64.RawURLEncoding.EncodeToString
	f.Add(enc([]byte(`{"alg":"ES256","typ":"JWT"}`)) + "." + enc([]byte(`{"iss":"https://token.actions.githubusercontent.com","sub":"repo:o/r:ref:refs/heads/main"}`)) + ".c2ln")
	f.Add(enc([]byte(`{"alg":"RS256"}`)) + "." + base64.URLEncoding.EncodeToString([]byte(`{"iss":"https://accounts.google.com"}`)) + ".")
	f.Add("a.b.c")
	f.Add("not a token")
	f.Add("..")
	f.Fuzz(func(t *testing.T, raw string) {
		iss, err := oidc.UnverifiedIssuer(raw)
		if err != nil {
			if !errors.Is(err, oidc.ErrInvalidToken) {
				t.Fatalf("error %v does not wrap ErrInvalidToken", err)
			}
		} else {
			if iss == "" {
				t.Fatal("empty issuer without error")
			}
			// encoding/json matches "iss" case-insensitively, as go-oidc
			// does when it checks the issuer; so compare the same way.
			payload, _ := base64.RawURLEncoding.DecodeString(strings.TrimRight(strings.Split(raw, ".")[1], "="))
			var c map[string]any
			if err := json.Unmarshal(payload, &c); err != nil {
				t.Fatalf("issuer %q from a payload that is not a JSON object: %v", iss, err)
			}
			found := false
			for k, v := range c {
				found = found || strings.EqualFold(k, "iss") && v == iss
			}
			if !found {
				t.Fatalf("issuer %q is not an iss claim of %s", iss, payload)
			}
		}
		// Round trip: raw as the issuer of a well-formed token.
		tok := enc([]byte(`{"alg":"ES256"}`)) + "." + enc(mustJSON(map[string]string{"iss": raw})) + ".c2ln"
		got, err := oidc.UnverifiedIssuer(tok)
		if raw == "" {
			if err == nil {
				t.Fatal("accepted an empty iss")
			}
			return
		}
		// JSON encoding replaces invalid UTF-8, so compare with what was encoded.
		var want map[string]string
		_ = json.Unmarshal(mustJSON(map[string]string{"iss": raw}), &want)
		if err != nil || got != want["iss"] {
			t.Fatalf("round trip of iss %q = %q, %v", raw, got, err)
		}
	})
}
