package server_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/signetproject/signet/ca"
	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/server"
	"github.com/signetproject/signet/server/servertest"
)

// testIssuer is a remote OIDC provider on loopback (discovery + JWKS) whose
// tokens can carry any claims.
type testIssuer struct {
	url string
	key *ecdsa.PrivateKey
}

func newTestIssuer(t *testing.T) *testIssuer {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ts := httptest.NewUnstartedServer(nil)
	url := "http://" + ts.Listener.Addr().String()
	dev, err := oidc.NewDevIssuer(url, key) // reuse its discovery and JWKS documents
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		doc := strings.ReplaceAll(string(dev.Discovery()), url+"/jwks", url+"/keys")
		_, _ = w.Write([]byte(doc))
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(dev.JWKS()) })
	ts.Config.Handler = mux
	ts.Start()
	t.Cleanup(ts.Close)
	return &testIssuer{url: url, key: key}
}

func signClaims(t *testing.T, key crypto.Signer, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (ti *testIssuer) claims(extra map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss": ti.url, "aud": "sigstore", "sub": "alice@example.com", "email": "alice@example.com",
		"email_verified": true, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func pemPublicKey(t *testing.T, pub crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func ecdsaPoP(t *testing.T, key *ecdsa.PrivateKey, challenge string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(challenge))
	sig, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func v2Body(t *testing.T, token, pubPEM, pop string) string {
	t.Helper()
	b, _ := json.Marshal(map[string]any{
		"credentials":      map[string]any{"oidcIdentityToken": token},
		"publicKeyRequest": map[string]any{"publicKey": map[string]any{"algorithm": "ECDSA", "content": pubPEM}, "proofOfPossession": pop},
	})
	return string(b)
}

func post(t *testing.T, url, body string, header map[string]string) (int, []byte, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data, resp.Header
}

func TestSigningCertRejections(t *testing.T) {
	ti := newTestIssuer(t)
	inst := servertest.Start(t, func(o *server.Options) {
		o.Config.Issuers = []oidc.IssuerConfig{
			{URL: ti.url, Type: oidc.TypeEmail},
			{URL: "http://127.0.0.1:1/unreachable", Type: oidc.TypeEmail},
		}
	})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub := pemPublicKey(t, key.Public())
	good := signClaims(t, ti.key, ti.claims(nil))
	goodPoP := ecdsaPoP(t, key, "alice@example.com")
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	unreachable := signClaims(t, ti.key, ti.claims(map[string]any{"iss": "http://127.0.0.1:1/unreachable"}))
	spiffeInst := servertest.Start(t, func(o *server.Options) {
		o.Config.Issuers = []oidc.IssuerConfig{{URL: ti.url, Type: oidc.TypeSPIFFE, SPIFFETrustDomain: "example.org"}}
	})
	otherDomain := signClaims(t, ti.key, ti.claims(map[string]any{"sub": "spiffe://evil.example/app"}))

	tests := []struct {
		name       string
		url        string // default inst.URL
		body       string
		header     map[string]string
		wantStatus int
		wantCode   int
		wantMsg    string
	}{
		{"bad token signature", "", v2Body(t, signClaims(t, otherKey, ti.claims(nil)), pub, goodPoP), nil, 401, 16, "signature"},
		{"wrong audience", "", v2Body(t, signClaims(t, ti.key, ti.claims(map[string]any{"aud": "other"})), pub, goodPoP), nil, 401, 16, "audience"},
		{"expired token", "", v2Body(t, signClaims(t, ti.key, ti.claims(map[string]any{"exp": time.Now().Add(-time.Hour).Unix(), "iat": time.Now().Add(-2 * time.Hour).Unix()})), pub, goodPoP), nil, 401, 16, "expired"},
		{"unknown issuer", "", v2Body(t, signClaims(t, ti.key, ti.claims(map[string]any{"iss": "https://evil.example"})), pub, goodPoP), nil, 401, 16, "unknown issuer"},
		{"not a JWT", "", v2Body(t, "not-a-token", pub, goodPoP), nil, 401, 16, "not a JWT"},
		{"no token", "", `{"publicKeyRequest":{"publicKey":{"content":"x"}}}`, nil, 401, 16, "no identity token"},
		{"missing email_verified", "", v2Body(t, signClaims(t, ti.key, ti.claims(map[string]any{"email_verified": nil})), pub, goodPoP), nil, 403, 7, "email_verified"},
		{"email not verified", "", v2Body(t, signClaims(t, ti.key, ti.claims(map[string]any{"email_verified": false})), pub, goodPoP), nil, 403, 7, "email_verified claim is false"},
		{"spiffe trust domain", spiffeInst.URL, v2Body(t, otherDomain, pub, ecdsaPoP(t, key, "spiffe://evil.example/app")), nil, 403, 7, "trust domain"},
		{"issuer unreachable", "", v2Body(t, unreachable, pub, goodPoP), nil, 503, 14, "discover"},
		{"bad proof of possession", "", v2Body(t, good, pub, ecdsaPoP(t, key, "mallory@example.com")), nil, 400, 3, "proof of possession"},
		{"proof by another key", "", v2Body(t, good, pub, ecdsaPoP(t, otherKey, "alice@example.com")), nil, 400, 3, "proof of possession"},
		{"weak RSA key", "", v2Body(t, good, pemPublicKey(t, weak.Public()), goodPoP), nil, 400, 3, "too weak"},
		{"P-224 key", "", v2Body(t, good, pemPublicKey(t, p224.Public()), goodPoP), nil, 400, 3, "P-224"},
		{"garbage key", "", v2Body(t, good, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", goodPoP), nil, 400, 3, "public key"},
		{"no key", "", `{"credentials":{"oidcIdentityToken":"` + good + `"}}`, nil, 400, 3, "neither a public key"},
		{"malformed JSON", "", `{"credentials":`, nil, 400, 3, "not valid JSON"},
		{"JSON array", "", `[]`, nil, 400, 3, "JSON object"},
		{"unknown field", "", `{"credentials":{"oidcIdentityToken":"x"},"frobnicate":1}`, nil, 400, 3, "frobnicate"},
		{"bad base64", "", `{"credentials":{"oidcIdentityToken":"x"},"certificateSigningRequest":"!!!"}`, nil, 400, 3, "base64"},
		{"oversize body", "", `{"credentials":{"oidcIdentityToken":"` + strings.Repeat("a", 200<<10) + `"}}`, nil, 413, 3, "exceeds"},
		{"bad CSR", "", `{"credentials":{"oidcIdentityToken":"` + good + `"},"certificateSigningRequest":"` + base64.StdEncoding.EncodeToString([]byte("nope")) + `"}`, nil, 400, 3, "CSR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := tt.url
			if url == "" {
				url = inst.URL
			}
			status, body, _ := post(t, url+"/api/v2/signingCert", tt.body, tt.header)
			var e struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("error body is not JSON: %q", body)
			}
			if status != tt.wantStatus || e.Code != tt.wantCode {
				t.Errorf("got %d code %d (%s), want %d code %d", status, e.Code, e.Message, tt.wantStatus, tt.wantCode)
			}
			if !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("message %q does not mention %q", e.Message, tt.wantMsg)
			}
		})
	}

	// The same server still issues for good requests, by body or header token.
	status, body, _ := post(t, inst.URL+"/api/v2/signingCert", v2Body(t, "", pub, goodPoP), map[string]string{"Authorization": "Bearer " + good})
	if status != 200 {
		t.Fatalf("good request with bearer header: %d %s", status, body)
	}
}

func TestSigningCertCSR(t *testing.T) {
	inst := servertest.Start(t)
	tok, err := inst.Server.DevIssuer().Mint(oidc.TokenRequest{Email: "alice@example.com"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "ignored"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csrPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})
	// snake_case field names, as protobuf JSON also allows.
	body := `{"credentials":{"oidc_identity_token":"` + tok + `"},"certificate_signing_request":"` + base64.StdEncoding.EncodeToString(csrPEM) + `"}`
	status, data, hdr := post(t, inst.URL+"/api/v2/signingCert", body, nil)
	if status != 200 {
		t.Fatalf("CSR request: %d %s", status, data)
	}
	// The chain is larger than net/http buffers: not chunked.
	if got := hdr.Get("Content-Length"); got != strconv.Itoa(len(data)) {
		t.Errorf("Content-Length = %q, want %d", got, len(data))
	}
	var resp struct {
		SignedCertificateEmbeddedSct struct {
			Chain struct {
				Certificates []string `json:"certificates"`
			} `json:"chain"`
		} `json:"signedCertificateEmbeddedSct"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		t.Fatal(err)
	}
	certs := resp.SignedCertificateEmbeddedSct.Chain.Certificates
	if len(certs) != 3 {
		t.Fatalf("chain has %d certificates, want leaf + intermediate + root", len(certs))
	}
	leaf, err := ca.ParsePEMChain([]byte(certs[0]))
	if err != nil {
		t.Fatal(err)
	}
	if !leaf[0].PublicKey.(*ecdsa.PublicKey).Equal(key.Public()) {
		t.Error("certificate is not for the CSR's key")
	}
	if got := leaf[0].EmailAddresses; len(got) != 1 || got[0] != "alice@example.com" {
		t.Errorf("SAN = %v", got)
	}
}

// TestLegacyV1SigningCert speaks the legacy API the way cosign ≤ 2.6 does:
// base64 DER public key, signed email address, bearer token; answer 201
// with a PEM chain.
func TestLegacyV1SigningCert(t *testing.T) {
	inst := servertest.Start(t)
	tok, err := inst.Server.DevIssuer().Mint(oidc.TokenRequest{Email: "alice@example.com"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(key.Public())
	body, _ := json.Marshal(map[string]any{
		"publicKey":          map[string]any{"content": der, "algorithm": "ecdsa"},
		"signedEmailAddress": mustDecode(ecdsaPoP(t, key, "alice@example.com")),
	})
	status, data, hdr := post(t, inst.URL+"/api/v1/signingCert", string(body), map[string]string{"Authorization": "Bearer " + tok})
	if status != http.StatusCreated {
		t.Fatalf("v1 signingCert: %d %s", status, data)
	}
	if ct := hdr.Get("Content-Type"); ct != "application/pem-certificate-chain" {
		t.Errorf("Content-Type = %q", ct)
	}
	if got := hdr.Get("Content-Length"); got != strconv.Itoa(len(data)) {
		t.Errorf("Content-Length = %q, want %d", got, len(data))
	}
	chain, err := ca.ParsePEMChain(data)
	if err != nil || len(chain) != 3 {
		t.Fatalf("chain: %d certs, %v", len(chain), err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(chain[2])
	inter := x509.NewCertPool()
	inter.AddCert(chain[1])
	if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}); err != nil {
		t.Fatalf("chain does not verify: %v", err)
	}
	rootPEM := get(t, inst.URL+"/api/v1/rootCert")
	if !bytes.Equal(rootPEM, ca.EncodePEM(chain[1:])) {
		t.Error("/api/v1/rootCert differs from the chain in the signing response")
	}
}

func mustDecode(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestTrustBundleAndConfiguration(t *testing.T) {
	inst := servertest.Start(t, func(o *server.Options) {
		o.Config.Issuers = []oidc.IssuerConfig{{URL: "https://spiffe.example", Type: oidc.TypeSPIFFE, SPIFFETrustDomain: "example.org", ClientID: "signet"}}
	})
	var bundle struct {
		Chains []struct {
			Certificates []string `json:"certificates"`
		} `json:"chains"`
	}
	if err := json.Unmarshal(get(t, inst.URL+"/api/v2/trustBundle"), &bundle); err != nil {
		t.Fatal(err)
	}
	if len(bundle.Chains) != 1 || len(bundle.Chains[0].Certificates) != 2 {
		t.Fatalf("trust bundle = %+v, want one chain of intermediate + root", bundle)
	}
	var cfg struct {
		Issuers []map[string]string `json:"issuers"`
	}
	if err := json.Unmarshal(get(t, inst.URL+"/api/v2/configuration"), &cfg); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"issuerUrl": "https://spiffe.example", "audience": "signet", "challengeClaim": "sub", "spiffeTrustDomain": "example.org"}
	found := false
	for _, is := range cfg.Issuers {
		if is["issuerUrl"] == want["issuerUrl"] {
			found = true
			for k, v := range want {
				if is[k] != v {
					t.Errorf("configuration %s = %q, want %q", k, is[k], v)
				}
			}
		}
	}
	if !found {
		t.Errorf("configuration lacks issuer %s: %+v", want["issuerUrl"], cfg.Issuers)
	}
}
