package idtoken_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// fakeOP is an in-process OpenID provider that checks what a client must
// send (PKCE S256, the registered client and redirect, single-use codes)
// and can be told to misbehave in one way at a time.
type fakeOP struct {
	t      *testing.T
	srv    *httptest.Server
	issuer string
	key    *ecdsa.PrivateKey // signs ID tokens
	pub    *ecdsa.PrivateKey // published in the JWKS
	secret string            // client secret the token endpoint demands, if set

	// One fault at a time.
	tamperState    bool   // redirect with another state
	wrongNonce     bool   // ID token nonce differs
	audience       string // ID token aud (default: the client ID)
	noS256         bool   // discovery does not list S256
	redirectError  string // redirect with error=...
	badAtHash      bool   // at_hash of another access token
	omitDeviceAuth bool

	mu       sync.Mutex
	codes    map[string]authRequest // code → request
	devices  map[string]*deviceReq  // device_code → state
	lastAuth url.Values
}

type authRequest struct {
	clientID, redirect, challenge, nonce string
}

type deviceReq struct {
	clientID string
	approved bool
	polls    int
}

const (
	fakeClientID = "sigstore"
	fakeEmail    = "alice@example.com"
)

func newFakeOP(t *testing.T) *fakeOP {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	op := &fakeOP{t: t, key: key, pub: key, codes: map[string]authRequest{}, devices: map[string]*deviceReq{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", op.discovery)
	mux.HandleFunc("/jwks", op.jwks)
	mux.HandleFunc("/authorize", op.authorize)
	mux.HandleFunc("/token", op.token)
	mux.HandleFunc("/device", op.deviceAuth)
	op.srv = httptest.NewServer(mux)
	op.issuer = op.srv.URL
	t.Cleanup(op.srv.Close)
	return op
}

func (op *fakeOP) discovery(w http.ResponseWriter, _ *http.Request) {
	methods := []string{"plain", "S256"}
	if op.noS256 {
		methods = []string{"plain"}
	}
	doc := map[string]any{
		"issuer": op.issuer, "authorization_endpoint": op.issuer + "/authorize", "token_endpoint": op.issuer + "/token",
		"jwks_uri": op.issuer + "/jwks", "id_token_signing_alg_values_supported": []string{"ES256"},
		"code_challenge_methods_supported": methods,
	}
	if !op.omitDeviceAuth {
		doc["device_authorization_endpoint"] = op.issuer + "/device"
	}
	_ = json.NewEncoder(w).Encode(doc)
}

func (op *fakeOP) jwks(w http.ResponseWriter, _ *http.Request) {
	_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: op.pub.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
}

func oauthError(w http.ResponseWriter, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// authorize stands in for the login page: it logs the user in at once and
// redirects back with a code.
func (op *fakeOP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	op.mu.Lock()
	op.lastAuth = q
	op.mu.Unlock()
	if q.Get("client_id") != fakeClientID {
		http.Error(w, "unknown client", http.StatusBadRequest)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme != "http" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 {
		http.Error(w, "PKCE S256 required", http.StatusBadRequest)
		return
	}
	if q.Get("response_type") != "code" || q.Get("state") == "" || q.Get("nonce") == "" {
		http.Error(w, "want response_type=code with state and nonce", http.StatusBadRequest)
		return
	}
	back := redirect.Query()
	state := q.Get("state")
	if op.tamperState {
		state += "x"
	}
	back.Set("state", state)
	if op.redirectError != "" {
		back.Set("error", op.redirectError)
		back.Set("error_description", "the user said no")
	} else {
		code := randomCode()
		op.mu.Lock()
		op.codes[code] = authRequest{clientID: fakeClientID, redirect: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), nonce: q.Get("nonce")}
		op.mu.Unlock()
		back.Set("code", code)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (op *fakeOP) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request", err.Error())
		return
	}
	clientID, secret, basic := r.BasicAuth()
	if !basic {
		clientID, secret = r.Form.Get("client_id"), r.Form.Get("client_secret")
	}
	if op.secret != "" && secret != op.secret {
		oauthError(w, "invalid_client", "client authentication failed")
		return
	}
	switch r.Form.Get("grant_type") {
	case "authorization_code":
		op.mu.Lock()
		req, ok := op.codes[r.Form.Get("code")]
		delete(op.codes, r.Form.Get("code")) // single use
		op.mu.Unlock()
		if !ok {
			oauthError(w, "invalid_grant", "unknown or used code")
			return
		}
		sum := sha256.Sum256([]byte(r.Form.Get("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != req.challenge {
			oauthError(w, "invalid_grant", "code_verifier does not match the code_challenge")
			return
		}
		if clientID != req.clientID || r.Form.Get("redirect_uri") != req.redirect {
			oauthError(w, "invalid_grant", "client or redirect_uri differs from the authorization request")
			return
		}
		nonce := req.nonce
		if op.wrongNonce {
			nonce = "another-login"
		}
		op.issue(w, clientID, nonce)
	case "urn:ietf:params:oauth:grant-type:device_code":
		op.mu.Lock()
		d, ok := op.devices[r.Form.Get("device_code")]
		if ok {
			d.polls++
		}
		op.mu.Unlock()
		switch {
		case !ok || d.clientID != clientID:
			oauthError(w, "invalid_grant", "unknown device code")
		case !d.approved:
			oauthError(w, "authorization_pending", "")
		default:
			op.mu.Lock()
			delete(op.devices, r.Form.Get("device_code"))
			op.mu.Unlock()
			op.issue(w, clientID, "")
		}
	default:
		oauthError(w, "unsupported_grant_type", r.Form.Get("grant_type"))
	}
}

func (op *fakeOP) deviceAuth(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Form.Get("client_id") != fakeClientID {
		oauthError(w, "invalid_client", "unknown client")
		return
	}
	code := randomCode()
	op.mu.Lock()
	op.devices[code] = &deviceReq{clientID: fakeClientID}
	op.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{
		"device_code": code, "user_code": "WDJB-MJHT", "verification_uri": op.issuer + "/activate",
		"expires_in": 60, "interval": 1,
	})
}

// approveDevices approves every pending device login.
func (op *fakeOP) approveDevices() {
	op.mu.Lock()
	defer op.mu.Unlock()
	for _, d := range op.devices {
		d.approved = true
	}
}

func (op *fakeOP) issue(w http.ResponseWriter, clientID, nonce string) {
	aud := op.audience
	if aud == "" {
		aud = clientID
	}
	now := time.Now()
	claims := map[string]any{
		"iss": op.issuer, "aud": aud, "sub": "user-1", "email": fakeEmail, "email_verified": true,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	accessToken := "at-" + randomCode()
	hashed := accessToken
	if op.badAtHash {
		hashed = "another access token"
	}
	sum := sha256.Sum256([]byte(hashed))
	claims["at_hash"] = base64.RawURLEncoding.EncodeToString(sum[:16])
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: op.key}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
	if err != nil {
		op.t.Error(err)
		return
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		op.t.Error(err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": accessToken, "token_type": "Bearer", "expires_in": 300, "id_token": raw})
}

func randomCode() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}
