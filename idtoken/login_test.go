package idtoken_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signetproject/signet/idtoken"
)

// browser follows the login URL like a browser whose user is logged in
// at the provider: the provider redirects to the loopback at once.
func browser(t *testing.T) func(string) error {
	return func(u string) error {
		resp, err := http.Get(u)
		if err != nil {
			t.Logf("browser: %v", err)
			return nil
		}
		resp.Body.Close()
		return nil
	}
}

func claimsOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLoginAuthCode(t *testing.T) {
	op := newFakeOP(t)
	var prompt bytes.Buffer
	l := &idtoken.Login{Issuer: op.issuer, Prompt: &prompt, OpenBrowser: browser(t), Timeout: 10 * time.Second}
	tok, err := l.Token(context.Background(), idtoken.Audience)
	if err != nil {
		t.Fatalf("Token: %v\nprompt:\n%s", err, prompt.String())
	}
	c := claimsOf(t, tok)
	if c["email"] != fakeEmail || c["aud"] != fakeClientID {
		t.Errorf("claims %v, want email %s and aud %s", c, fakeEmail, fakeClientID)
	}
	if !strings.Contains(prompt.String(), op.issuer+"/authorize?") {
		t.Errorf("prompt does not show the login URL:\n%s", prompt.String())
	}
	if strings.Contains(prompt.String(), tok) {
		t.Error("prompt shows the token")
	}
	op.mu.Lock()
	redirect := op.lastAuth.Get("redirect_uri")
	op.mu.Unlock()
	if !strings.HasPrefix(redirect, "http://localhost:") || !strings.HasSuffix(redirect, "/auth/callback") {
		t.Errorf("redirect_uri %q, want cosign's http://localhost:PORT/auth/callback", redirect)
	}
}

func TestLoginAuthCodeRefusals(t *testing.T) {
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tests := []struct {
		name   string
		fault  func(op *fakeOP, l *idtoken.Login)
		want   string
		wantIs error
	}{
		{"tampered state", func(op *fakeOP, _ *idtoken.Login) { op.tamperState = true }, "state", idtoken.ErrStateMismatch},
		{"nonce of another login", func(op *fakeOP, _ *idtoken.Login) { op.wrongNonce = true }, "nonce does not match", nil},
		{"ID token for another client", func(op *fakeOP, _ *idtoken.Login) { op.audience = "someone-else" }, "audience", nil},
		{"ID token signed by an unpublished key", func(op *fakeOP, _ *idtoken.Login) { op.key = otherKey }, "signature", nil},
		{"ID token for another access token", func(op *fakeOP, _ *idtoken.Login) { op.badAtHash = true }, "access token hash", nil},
		{"provider without PKCE S256", func(op *fakeOP, _ *idtoken.Login) { op.noS256 = true }, "PKCE", nil},
		{"user denied", func(op *fakeOP, _ *idtoken.Login) { op.redirectError = "access_denied" }, "refused the login: access_denied: the user said no", nil},
		{"client secret missing", func(op *fakeOP, _ *idtoken.Login) { op.secret = "s3cret" }, "refused the authorization code: invalid_client", nil},
		{"wrong client secret", func(op *fakeOP, l *idtoken.Login) { op.secret = "s3cret"; l.ClientSecret = "guess" }, "invalid_client", nil},
		{"redirect not on loopback", func(_ *fakeOP, l *idtoken.Login) { l.RedirectURL = "http://example.com:0/cb" }, "loopback", nil},
		{"no redirect in time", func(_ *fakeOP, l *idtoken.Login) { l.OpenBrowser = nil; l.Timeout = 300 * time.Millisecond }, "no login redirect arrived", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newFakeOP(t)
			l := &idtoken.Login{Issuer: op.issuer, OpenBrowser: browser(t), Timeout: 10 * time.Second}
			tt.fault(op, l)
			tok, err := l.Token(context.Background(), idtoken.Audience)
			if err == nil {
				t.Fatalf("Token succeeded (%d bytes), want error mentioning %q", len(tok), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
		})
	}
}

func TestLoginWithClientSecret(t *testing.T) {
	op := newFakeOP(t)
	op.secret = "s3cret"
	l := &idtoken.Login{Issuer: op.issuer, ClientSecret: "s3cret", OpenBrowser: browser(t), Timeout: 10 * time.Second}
	if _, err := l.Token(context.Background(), idtoken.Audience); err != nil {
		t.Fatal(err)
	}
}

// TestLoopbackTakesOneAnswer: once a redirect was answered, later ones
// (a replay, a second tab) are turned away and cannot change the result.
func TestLoopbackTakesOneAnswer(t *testing.T) {
	op := newFakeOP(t)
	var (
		mu     sync.Mutex
		second int
	)
	l := &idtoken.Login{Issuer: op.issuer, Timeout: 10 * time.Second, OpenBrowser: func(u string) error {
		resp, err := http.Get(u)
		if err != nil {
			return err
		}
		resp.Body.Close()
		// Replay the redirect the browser just followed.
		again, err := http.Get(resp.Request.URL.String())
		if err != nil {
			return err
		}
		again.Body.Close()
		mu.Lock()
		second = again.StatusCode
		mu.Unlock()
		return nil
	}}
	if _, err := l.Token(context.Background(), idtoken.Audience); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if second != http.StatusConflict {
		t.Errorf("replayed redirect answered %d, want 409", second)
	}
}

func TestLoginDevice(t *testing.T) {
	op := newFakeOP(t)
	var prompt syncBuffer
	l := &idtoken.Login{Issuer: op.issuer, Device: true, Prompt: &prompt, Timeout: 20 * time.Second}
	stop := make(chan struct{})
	defer close(stop)
	go func() { // the person enters the code once it is shown
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				if strings.Contains(prompt.String(), "WDJB-MJHT") {
					op.approveDevices()
				}
			}
		}
	}()
	tok, err := l.Token(context.Background(), idtoken.Audience)
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if c := claimsOf(t, tok); c["email"] != fakeEmail {
		t.Errorf("email claim %v", c["email"])
	}
	if !strings.Contains(prompt.String(), op.issuer+"/activate") {
		t.Errorf("prompt does not name the verification URL:\n%s", prompt.String())
	}
}

func TestLoginDeviceRefusals(t *testing.T) {
	tests := []struct {
		name  string
		fault func(op *fakeOP, l *idtoken.Login)
		want  string
	}{
		{"provider without device grant", func(op *fakeOP, _ *idtoken.Login) { op.omitDeviceAuth = true }, "does not offer the device authorization grant"},
		{"unknown client", func(_ *fakeOP, l *idtoken.Login) { l.ClientID = "nobody" }, "refused the device authorization request: invalid_client"},
		{"never approved", func(_ *fakeOP, l *idtoken.Login) { l.Timeout = 1500 * time.Millisecond }, "timed out"},
		{"ID token for another client", func(op *fakeOP, _ *idtoken.Login) { op.audience = "x"; go approveSoon(op) }, "audience"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newFakeOP(t)
			l := &idtoken.Login{Issuer: op.issuer, Device: true, Timeout: 10 * time.Second}
			tt.fault(op, l)
			_, err := l.Token(context.Background(), idtoken.Audience)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Token error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func approveSoon(op *fakeOP) {
	for i := 0; i < 40; i++ {
		time.Sleep(50 * time.Millisecond)
		op.approveDevices()
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
