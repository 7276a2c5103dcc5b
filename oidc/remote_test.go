package oidc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/signetproject/signet/oidc"
)

// issuerHost serves OpenID discovery and JWKS for any number of issuers
// under one base URL, one per path prefix; each publishes the keys it is
// told to.
type issuerHost struct {
	srv  *httptest.Server
	mu   sync.Mutex
	keys map[string][]jose.JSONWebKey // path prefix → published keys
}

func newIssuerHost(t *testing.T, tls bool) *issuerHost {
	t.Helper()
	h := &issuerHost{keys: map[string][]jose.JSONWebKey{}}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if prefix, ok := strings.CutSuffix(r.URL.Path, "/.well-known/openid-configuration"); ok {
			h.mu.Lock()
			_, known := h.keys[prefix]
			h.mu.Unlock()
			if !known {
				http.NotFound(w, r)
				return
			}
			iss := h.srv.URL + prefix
			_ = json.NewEncoder(w).Encode(map[string]any{
				"issuer": iss, "jwks_uri": iss + "/jwks", "response_types_supported": []string{"id_token"},
				"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"ES256"},
			})
			return
		}
		if prefix, ok := strings.CutSuffix(r.URL.Path, "/jwks"); ok {
			h.mu.Lock()
			keys, known := h.keys[prefix]
			h.mu.Unlock()
			if known {
				_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: keys})
				return
			}
		}
		http.NotFound(w, r)
	})
	if tls {
		h.srv = httptest.NewTLSServer(handler)
	} else {
		h.srv = httptest.NewServer(handler)
	}
	t.Cleanup(h.srv.Close)
	return h
}

// publish makes the issuer at prefix publish exactly these keys, with key
// IDs kid<i>.
func (h *issuerHost) publish(prefix string, keys map[string]*ecdsa.PrivateKey) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var set []jose.JSONWebKey
	for kid, k := range keys {
		set = append(set, jose.JSONWebKey{Key: k.Public(), KeyID: kid, Algorithm: "ES256", Use: "sig"})
	}
	h.keys[prefix] = set
}

func (h *issuerHost) url(prefix string) string { return h.srv.URL + prefix }

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// mint signs claims with key under key ID kid; iat/exp default to now and
// now+5m.
func mint(t *testing.T, key *ecdsa.PrivateKey, kid string, claims map[string]any) string {
	t.Helper()
	c := map[string]any{"iat": time.Now().Unix(), "exp": time.Now().Add(5 * time.Minute).Unix()}
	for k, v := range claims {
		c[k] = v
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// saClaims are the claims of a Kubernetes TokenRequest token.
func saClaims(iss, ns, sa string, aud ...string) map[string]any {
	if len(aud) == 0 {
		aud = []string{"sigstore"}
	}
	return map[string]any{
		"iss": iss, "aud": aud, "sub": "system:serviceaccount:" + ns + ":" + sa,
		"kubernetes.io": map[string]any{"namespace": ns, "serviceaccount": map[string]any{"name": sa, "uid": "0b9e7c1a-1111-4000-8000-000000000001"}},
	}
}

func TestMetaIssuers(t *testing.T) {
	h := newIssuerHost(t, false)
	key := newKey(t)
	for _, p := range []string{"/id/cluster-a", "/id/cluster_b", "/id/c.d", "/id/e/f", "/email/x"} {
		h.publish(p, map[string]*ecdsa.PrivateKey{"k": key})
	}
	pattern := h.url("/id/*")
	v, err := oidc.NewVerifier([]oidc.IssuerConfig{
		{URL: pattern, Type: oidc.TypeKubernetes},
		{URL: h.url("/*/*"), Type: oidc.TypeEmail}, // later pattern: /id/… never reaches it
	}, oidc.VerifierOptions{HTTPClient: h.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, is := range v.Issuers() {
		urls = append(urls, is.URL)
	}
	if want := []string{h.url("/*/*"), pattern}; strings.Join(urls, " ") != strings.Join(want, " ") {
		t.Errorf("Issuers = %v, want the patterns %v", urls, want)
	}

	for _, cluster := range []string{"cluster-a", "cluster_b"} {
		iss := h.url("/id/" + cluster)
		id, cfg, err := v.Verify(context.Background(), mint(t, key, "k", saClaims(iss, "release", "signer")))
		if err != nil {
			t.Fatalf("%s: %v", cluster, err)
		}
		if id.URI != "https://kubernetes.io/namespaces/release/serviceaccounts/signer" || id.Issuer != iss {
			t.Errorf("%s: identity %+v", cluster, id)
		}
		if cfg.URL != iss || cfg.MetaIssuer != pattern || cfg.Type != oidc.TypeKubernetes {
			t.Errorf("%s: issuer config %+v, want URL %s from meta issuer %s", cluster, cfg, iss, pattern)
		}
	}
	if id, cfg, err := v.Verify(context.Background(), mint(t, key, "k", map[string]any{
		"iss": h.url("/email/x"), "aud": "sigstore", "sub": "1", "email": "a@example.com", "email_verified": true,
	})); err != nil || id.Email != "a@example.com" || cfg.MetaIssuer != h.url("/*/*") {
		t.Errorf("second pattern: %+v %+v %v", id, cfg, err)
	}

	// A "*" is one path segment or host label of [-_a-zA-Z0-9]: it never
	// stretches over '.', '/' or into a query.
	for _, iss := range []string{h.url("/id/c.d"), h.url("/id/e/f"), h.url("/id/"), h.url("/id/x?y=1"), "https://evil.example/?" + h.url("/id/x")} {
		_, _, err := v.Verify(context.Background(), mint(t, key, "k", saClaims(iss, "release", "signer")))
		if !errors.Is(err, oidc.ErrInvalidToken) || !strings.Contains(err.Error(), "unknown issuer") {
			t.Errorf("iss %s: %v, want unknown issuer", iss, err)
		}
	}
}

func TestMetaIssuerConfig(t *testing.T) {
	for _, tt := range []struct {
		cfg  oidc.IssuerConfig
		want string
	}{
		{oidc.IssuerConfig{URL: "http*://oidc.example.com", Type: oidc.TypeEmail}, "scheme must be https"},
		{oidc.IssuerConfig{URL: "https://oidc.example.com/*?x=1", Type: oidc.TypeEmail}, "no query"},
		{oidc.IssuerConfig{URL: "https://*.example.com", Type: oidc.TypeDev}, "type dev"},
	} {
		if err := tt.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%s) = %v, want an error mentioning %q", tt.cfg.URL, err, tt.want)
		}
	}
	eks := oidc.IssuerConfig{URL: "https://oidc.eks.*.amazonaws.com/id/*", Type: oidc.TypeKubernetes}
	if err := eks.Validate(); err != nil {
		t.Errorf("EKS pattern: %v", err)
	}
	if _, err := oidc.NewVerifier([]oidc.IssuerConfig{eks, eks}, oidc.VerifierOptions{}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate meta issuer: %v", err)
	}
	re, err := oidc.MetaPattern(eks.URL)
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{
		"https://oidc.eks.us-west-2.amazonaws.com/id/B3A5D1C2E4F6":        true,
		"https://oidc.eks.us-west-2.evil.com/x.amazonaws.com/id/B3A5":     false,
		"https://oidc.eks.us-west-2.amazonaws.com/id/B3A5/../../evil":     false,
		"https://oidc.eks.us-west-2.amazonaws.com/id/":                    false,
		"https://oidc.eks.us-west-2.amazonaws.com.evil.com/id/B3A5D1C2E4": false,
		"http://oidc.eks.us-west-2.amazonaws.com/id/B3A5D1C2E4F6":         false,
	} {
		if got := re.MatchString(s); got != want {
			t.Errorf("%s matches: %v, want %v", s, got, want)
		}
	}
}

// writeCertPEM writes the test server's certificate as a CA file.
func writeCertPEM(t *testing.T, der []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// selfSigned returns a CA certificate for 127.0.0.1 that signed nothing
// (httptest's TLS servers all share one certificate).
func selfSigned(t *testing.T) []byte {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestIssuerCAFile: an issuer served with a certificate from a private CA
// (a Kubernetes API server's) is reachable with caFile, and only then.
func TestIssuerCAFile(t *testing.T) {
	h := newIssuerHost(t, true)
	key := newKey(t)
	h.publish("", map[string]*ecdsa.PrivateKey{"k": key})
	iss := h.url("")
	caFile := writeCertPEM(t, h.srv.Certificate().Raw)
	otherCA := writeCertPEM(t, selfSigned(t))
	tok := mint(t, key, "k", saClaims(iss, "ci", "builder"))

	v, err := oidc.NewVerifier([]oidc.IssuerConfig{{URL: iss, Type: oidc.TypeKubernetes, CAFile: caFile}}, oidc.VerifierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if id, _, err := v.Verify(context.Background(), tok); err != nil || id.URI != "https://kubernetes.io/namespaces/ci/serviceaccounts/builder" {
		t.Fatalf("with caFile: %+v, %v", id, err)
	}
	for name, cfg := range map[string]oidc.IssuerConfig{
		"system roots": {URL: iss, Type: oidc.TypeKubernetes},
		"another CA":   {URL: iss, Type: oidc.TypeKubernetes, CAFile: otherCA},
	} {
		v, err := oidc.NewVerifier([]oidc.IssuerConfig{cfg}, oidc.VerifierOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := v.Verify(context.Background(), tok); !errors.Is(err, oidc.ErrIssuerUnavailable) || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("%s: %v, want ErrIssuerUnavailable for the certificate", name, err)
		}
	}

	// Other issuers' requests still go through the verifier's own client.
	plain := newIssuerHost(t, false)
	plain.publish("", map[string]*ecdsa.PrivateKey{"k": key})
	counting := &countingTransport{base: http.DefaultTransport}
	v, err = oidc.NewVerifier([]oidc.IssuerConfig{
		{URL: iss, Type: oidc.TypeKubernetes, CAFile: caFile},
		{URL: plain.url(""), Type: oidc.TypeKubernetes},
	}, oidc.VerifierOptions{HTTPClient: &http.Client{Transport: counting}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{tok, mint(t, key, "k", saClaims(plain.url(""), "ci", "builder"))} {
		if _, _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if got := counting.hosts(); len(got) != 1 || got[0] != strings.TrimPrefix(plain.url(""), "http://") {
		t.Errorf("the verifier's transport carried requests to %v, want only the plain issuer's", got)
	}

	notPEM := filepath.Join(t.TempDir(), "junk")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		cfg  oidc.IssuerConfig
		want string
	}{
		{oidc.IssuerConfig{URL: iss, Type: oidc.TypeKubernetes, CAFile: notPEM}, "holds no PEM certificate"},
		{oidc.IssuerConfig{URL: iss, Type: oidc.TypeKubernetes, CAFile: filepath.Join(t.TempDir(), "absent")}, "no such file"},
		{oidc.IssuerConfig{URL: "http://127.0.0.1:1", Type: oidc.TypeKubernetes, CAFile: caFile}, "caFile is for https issuers"},
	} {
		if _, err := oidc.NewVerifier([]oidc.IssuerConfig{tt.cfg}, oidc.VerifierOptions{}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewVerifier(%+v) = %v, want an error mentioning %q", tt.cfg, err, tt.want)
		}
	}
}

// countingTransport records the hosts it carries requests to.
type countingTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	seen map[string]bool
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	c.seen[r.URL.Host] = true
	c.mu.Unlock()
	return c.base.RoundTrip(r)
}

func (c *countingTransport) hosts() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for h := range c.seen {
		out = append(out, h)
	}
	return out
}

// TestTokenConfusion: tokens that are genuine somewhere, but not for this
// CA, this issuer or this moment, are refused; an issuer's type, not the
// token's claims, decides what identity a token can prove.
func TestTokenConfusion(t *testing.T) {
	h := newIssuerHost(t, false)
	k8sKey, emailKey, ghKey, rotated := newKey(t), newKey(t), newKey(t), newKey(t)
	h.publish("/k8s", map[string]*ecdsa.PrivateKey{"k8s-1": k8sKey})
	h.publish("/accounts", map[string]*ecdsa.PrivateKey{"acc": emailKey})
	h.publish("/actions", map[string]*ecdsa.PrivateKey{"gh": ghKey})
	h.publish("/rotated", map[string]*ecdsa.PrivateKey{"new": rotated})
	k8s, accounts, actions, rot := h.url("/k8s"), h.url("/accounts"), h.url("/actions"), h.url("/rotated")
	v, err := oidc.NewVerifier([]oidc.IssuerConfig{
		{URL: k8s, Type: oidc.TypeKubernetes},
		{URL: accounts, Type: oidc.TypeEmail},
		{URL: actions, Type: oidc.TypeGitHubWorkflow},
		{URL: rot, Type: oidc.TypeKubernetes},
	}, oidc.VerifierOptions{HTTPClient: h.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	fresh := map[string]any{"iat": time.Now().Unix(), "nbf": time.Now().Unix(), "exp": time.Now().Add(5 * time.Minute).Unix()}
	gh := map[string]any(with(githubClaims(), "iss", actions))
	ghAsEmail := map[string]any(with(githubClaims(), "iss", accounts))
	for k, v := range fresh {
		gh[k], ghAsEmail[k] = v, v
	}
	k8sWithEmail := saClaims(k8s, "release", "signer")
	k8sWithEmail["email"], k8sWithEmail["email_verified"] = "admin@example.com", true
	expired := saClaims(k8s, "release", "signer")
	expired["iat"], expired["exp"] = time.Now().Add(-time.Hour).Unix(), time.Now().Add(-time.Minute).Unix()

	tests := []struct {
		name    string
		tok     string
		wantURI string // for accepted tokens
		wantErr error
		wantMsg string
	}{
		{"service account token for sigstore", mint(t, k8sKey, "k8s-1", saClaims(k8s, "release", "signer")),
			"https://kubernetes.io/namespaces/release/serviceaccounts/signer", nil, ""},
		{"service account token for the API server", mint(t, k8sKey, "k8s-1", saClaims(k8s, "release", "signer", "https://kubernetes.default.svc")),
			"", oidc.ErrInvalidToken, "audience"},
		{"kubernetes token with an email claim stays a service account", mint(t, k8sKey, "k8s-1", k8sWithEmail),
			"https://kubernetes.io/namespaces/release/serviceaccounts/signer", nil, ""},
		{"workflow claims from an email issuer prove no workflow", mint(t, emailKey, "acc", ghAsEmail),
			"", oidc.ErrIdentityNotAllowed, "email"},
		{"workflow token signed by another issuer's key", mint(t, emailKey, "gh", gh), "", oidc.ErrInvalidToken, ""},
		{"service account token signed with the email issuer's key", mint(t, emailKey, "k8s-1", saClaims(k8s, "release", "signer")), "", oidc.ErrInvalidToken, ""},
		{"expired", mint(t, k8sKey, "k8s-1", expired), "", oidc.ErrInvalidToken, "expired"},
		{"key the issuer no longer publishes", mint(t, k8sKey, "old", saClaims(rot, "release", "signer")), "", oidc.ErrInvalidToken, ""},
		{"the key it publishes now", mint(t, rotated, "new", saClaims(rot, "release", "signer")),
			"https://kubernetes.io/namespaces/release/serviceaccounts/signer", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, _, err := v.Verify(context.Background(), tt.tok)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if id.URI != tt.wantURI || id.Email != "" {
					t.Errorf("identity %+v, want URI %s", id, tt.wantURI)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Verify = %+v, %v; want %v mentioning %q", id, err, tt.wantErr, tt.wantMsg)
			}
		})
	}
}
