package oidc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"

	"github.com/signetproject/signet/oidc"
)

func TestUnverifiedIssuer(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	tok := func(payload string) string {
		return enc([]byte(`{"alg":"ES256"}`)) + "." + enc([]byte(payload)) + ".c2ln"
	}
	tests := []struct {
		name    string
		raw     string
		want    string
		wantErr string // "" for success
	}{
		{"issuer", tok(`{"iss":"https://accounts.example.com","sub":"x"}`), "https://accounts.example.com", ""},
		{"padded payload", enc([]byte("{}")) + "." + base64.URLEncoding.EncodeToString([]byte(`{"iss":"https://a.example"}`)) + ".", "https://a.example", ""},
		{"empty signature", enc([]byte("{}")) + "." + enc([]byte(`{"iss":"https://a.example"}`)) + ".", "https://a.example", ""},
		{"empty string", "", "", "want 3 dot-separated parts, got 1"},
		{"two parts", "a.b", "", "got 2"},
		{"four parts", "a.b.c.d", "", "got 4"},
		{"JWE-like five parts", "a.b.c.d.e", "", "got 5"},
		{"payload not base64url", "a.!!!.c", "", "not base64url"},
		{"payload standard base64 alphabet", "a." + base64.RawStdEncoding.EncodeToString([]byte(`{"iss":"https://a.example/?>>>"}`)) + ".c", "", "not base64url"},
		{"payload not JSON", tok(`iss=https://a.example`), "", "not a JSON object"},
		{"payload JSON array", tok(`["iss"]`), "", "not a JSON object"},
		{"iss is a number", tok(`{"iss":42}`), "", "not a JSON object"},
		{"no iss", tok(`{"sub":"alice"}`), "", "no iss claim"},
		{"empty iss", tok(`{"iss":""}`), "", "no iss claim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := oidc.UnverifiedIssuer(tt.raw)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("UnverifiedIssuer = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("UnverifiedIssuer = %q, want error", got)
			}
			if !errors.Is(err, oidc.ErrInvalidToken) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q: want ErrInvalidToken mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func signJWT(t *testing.T, key any, alg jose.SignatureAlgorithm, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVerifierStaticIssuer(t *testing.T) {
	const iss = "https://accounts.example.com"
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)

	v, err := oidc.NewVerifier(nil, oidc.VerifierOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.AddStaticIssuer(oidc.IssuerConfig{URL: iss, Type: oidc.TypeEmail}, key.Public(), p384.Public()); err != nil {
		t.Fatal(err)
	}
	if err := v.AddStaticIssuer(oidc.IssuerConfig{URL: "https://spire.example.org", Type: oidc.TypeSPIFFE, SPIFFETrustDomain: "example.org", ClientID: "signet"}, key.Public()); err != nil {
		t.Fatal(err)
	}
	claims := func(kv ...any) map[string]any {
		c := map[string]any{
			"iss": iss, "aud": "sigstore", "sub": "1234", "email": "alice@example.com", "email_verified": true,
			"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(9 * time.Minute).Unix(),
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(c, kv[i].(string))
			} else {
				c[kv[i].(string)] = kv[i+1]
			}
		}
		return c
	}
	alice := oidc.Identity{Issuer: iss, Challenge: "alice@example.com", Email: "alice@example.com"}

	tests := []struct {
		name    string
		token   string
		want    oidc.Identity
		wantErr error
		wantMsg string
	}{
		{"good", signJWT(t, key, jose.ES256, claims()), alice, nil, ""},
		{"good ES384 and audience list", signJWT(t, p384, jose.ES384, claims("aud", []string{"other", "sigstore"})), alice, nil, ""},
		{"custom client ID", signJWT(t, key, jose.ES256, claims("iss", "https://spire.example.org", "aud", "signet", "sub", "spiffe://example.org/app")),
			oidc.Identity{Issuer: "https://spire.example.org", Challenge: "spiffe://example.org/app", URI: "spiffe://example.org/app"}, nil, ""},
		{"expired", signJWT(t, key, jose.ES256, claims("exp", now.Add(-time.Second).Unix(), "iat", now.Add(-time.Hour).Unix())), oidc.Identity{}, oidc.ErrInvalidToken, "expired"},
		{"wrong audience", signJWT(t, key, jose.ES256, claims("aud", "other")), oidc.Identity{}, oidc.ErrInvalidToken, "audience"},
		{"default audience for custom client ID", signJWT(t, key, jose.ES256, claims("iss", "https://spire.example.org", "sub", "spiffe://example.org/app")), oidc.Identity{}, oidc.ErrInvalidToken, "audience"},
		{"bad signature", signJWT(t, otherKey, jose.ES256, claims()), oidc.Identity{}, oidc.ErrInvalidToken, "signature"},
		{"tampered payload", func() string {
			parts := strings.Split(signJWT(t, key, jose.ES256, claims()), ".")
			parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"` + iss + `","aud":"sigstore","email":"mallory@example.com","email_verified":true,"exp":` + "9999999999" + `}`))
			return strings.Join(parts, ".")
		}(), oidc.Identity{}, oidc.ErrInvalidToken, "signature"},
		{"HS256 with public key bytes", signJWT(t, []byte("0123456789abcdef0123456789abcdef"), jose.HS256, claims()), oidc.Identity{}, oidc.ErrInvalidToken, ""},
		{"unknown issuer", signJWT(t, key, jose.ES256, claims("iss", "https://evil.example")), oidc.Identity{}, oidc.ErrInvalidToken, `unknown issuer "https://evil.example"`},
		{"oversize token", signJWT(t, key, jose.ES256, claims("pad", strings.Repeat("a", oidc.MaxTokenSize))), oidc.Identity{}, oidc.ErrInvalidToken, "larger than"},
		{"not a JWT", "opaque-access-token", oidc.Identity{}, oidc.ErrInvalidToken, "not a JWT"},
		{"second iss claim differing in case", func() string {
			// go-oidc (encoding/json) reads "ISS" as the issuer it checks;
			// the identity must state that verified issuer, not "iss".
			s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, nil)
			if err != nil {
				t.Fatal(err)
			}
			payload := fmt.Sprintf(`{"iss":"https://evil.example","ISS":%q,"aud":"sigstore","email":"alice@example.com","email_verified":true,"exp":%d}`, iss, now.Add(time.Minute).Unix())
			jws, err := s.Sign([]byte(payload))
			if err != nil {
				t.Fatal(err)
			}
			tok, err := jws.CompactSerialize()
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}(), alice, nil, ""},
		{"identity not allowed", signJWT(t, key, jose.ES256, claims("email_verified", false)), oidc.Identity{}, oidc.ErrIdentityNotAllowed, "email_verified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := v.Verify(context.Background(), tt.token)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("identity (-want +got):\n%s", diff)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify error = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
		})
	}
}

func TestVerifierConfiguration(t *testing.T) {
	ok := oidc.IssuerConfig{URL: "https://b.example", Type: oidc.TypeEmail}
	v, err := oidc.NewVerifier([]oidc.IssuerConfig{ok, {URL: "https://a.example", Type: oidc.TypeKubernetes}}, oidc.VerifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, is := range v.Issuers() {
		urls = append(urls, is.URL)
	}
	if diff := cmp.Diff([]string{"https://a.example", "https://b.example"}, urls); diff != "" {
		t.Errorf("Issuers not sorted (-want +got):\n%s", diff)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err := v.AddStaticIssuer(ok, key.Public()); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("AddStaticIssuer of a configured issuer: %v, want error", err)
	}
	if _, err := oidc.NewVerifier([]oidc.IssuerConfig{ok, ok}, oidc.VerifierOptions{}); err == nil {
		t.Error("NewVerifier accepted a duplicate issuer")
	}
	if _, err := oidc.NewVerifier([]oidc.IssuerConfig{{URL: "https://a.example", Type: "bogus"}}, oidc.VerifierOptions{}); err == nil {
		t.Error("NewVerifier accepted an invalid issuer")
	}
}

// TestVerifierRemoteIssuerUnavailable: an issuer whose discovery fails gives
// ErrIssuerUnavailable, and a later working discovery is retried.
func TestVerifierRemoteIssuerUnavailable(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var available atomic.Bool
	ts := httptest.NewUnstartedServer(nil)
	url := "http://" + ts.Listener.Addr().String()
	dev, err := oidc.NewDevIssuer(url, key)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		if !available.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write(dev.Discovery())
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(dev.JWKS()) })
	ts.Config.Handler = mux
	ts.Start()
	t.Cleanup(ts.Close)

	clk := &clock{now: time.Now()}
	v, err := oidc.NewVerifier([]oidc.IssuerConfig{{URL: url, Type: oidc.TypeEmail}}, oidc.VerifierOptions{HTTPClient: ts.Client(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	tok, err := dev.Mint(oidc.TokenRequest{Email: "alice@example.com"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.Verify(context.Background(), tok); !errors.Is(err, oidc.ErrIssuerUnavailable) {
		t.Fatalf("Verify with discovery down: %v, want ErrIssuerUnavailable", err)
	}
	available.Store(true)
	clk.advance(oidc.FailureCacheTime) // a failure is remembered that long
	id, cfg, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("Verify after discovery recovered: %v", err)
	}
	if id.Email != "alice@example.com" || cfg.URL != url {
		t.Errorf("Verify = %+v from %s", id, cfg.URL)
	}
}
