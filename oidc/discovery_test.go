package oidc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/signetproject/signet/oidc"
)

// fakeIssuer is a remote OpenID provider (a dev issuer's documents served
// over HTTP) whose discovery can be held and failed, and which counts its
// requests.
type fakeIssuer struct {
	url       string
	dev       *oidc.DevIssuer
	ts        *httptest.Server
	holdMu    sync.Mutex
	hold      chan struct{} // while open, discovery requests block
	down      atomic.Bool   // discovery answers 503
	discovery atomic.Int32
	jwks      atomic.Int32
}

func newFakeIssuer(t *testing.T) *fakeIssuer {
	t.Helper()
	f := &fakeIssuer{hold: make(chan struct{})}
	close(f.hold)
	f.ts = httptest.NewUnstartedServer(nil)
	f.url = "http://" + f.ts.Listener.Addr().String()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	dev, err := oidc.NewDevIssuer(f.url, key)
	if err != nil {
		t.Fatal(err)
	}
	f.dev = dev
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		f.discovery.Add(1)
		f.holdMu.Lock()
		hold := f.hold
		f.holdMu.Unlock()
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
		if f.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write(dev.Discovery())
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		f.jwks.Add(1)
		_, _ = w.Write(dev.JWKS())
	})
	f.ts.Config.Handler = mux
	f.ts.Start()
	t.Cleanup(f.ts.Close)
	return f
}

// stall makes discovery requests block until the returned function is
// called.
func (f *fakeIssuer) stall() (release func()) {
	hold := make(chan struct{})
	f.holdMu.Lock()
	f.hold = hold
	f.holdMu.Unlock()
	return sync.OnceFunc(func() { close(hold) })
}

func (f *fakeIssuer) token(t *testing.T) string {
	t.Helper()
	tok, err := f.dev.Mint(oidc.TokenRequest{Email: "alice@example.com"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// clock is a settable clock for WithClock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestSlowIssuerDoesNotStall holds an issuer's discovery: callers share one
// discovery and each gives up when its own context ends; another issuer
// keeps working; the failure is then remembered briefly, and retried after.
func TestSlowIssuerDoesNotStall(t *testing.T) {
	slow := newFakeIssuer(t)
	release := slow.stall()
	defer release()
	devKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, err := oidc.NewDevIssuer("https://other.example", devKey)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Now()}
	v, err := oidc.NewVerifier([]oidc.IssuerConfig{{URL: slow.url, Type: oidc.TypeEmail}}, oidc.VerifierOptions{HTTPClient: slow.ts.Client(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := v.AddStaticIssuer(other.Config(), other.PublicKey()); err != nil {
		t.Fatal(err)
	}

	// Three callers with different deadlines, at once.
	tok := slow.token(t)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	took := make([]time.Duration, 3)
	for i := range errs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i+1)*300*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, _, errs[i] = v.Verify(ctx, tok)
			took[i] = time.Since(start)
		})
	}
	// The other issuer is not held up meanwhile.
	otherTok, err := other.Mint(oidc.TokenRequest{Email: "bob@example.com"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.Verify(context.Background(), otherTok); err != nil {
		t.Errorf("another issuer's token during the stall: %v", err)
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, oidc.ErrIssuerUnavailable) {
			t.Errorf("caller %d: %v, want ErrIssuerUnavailable", i, err)
		}
		// Each returns when its own context ends, well before the
		// discovery itself would time out (10 s).
		if took[i] > 5*time.Second {
			t.Errorf("caller %d waited %s", i, took[i])
		}
	}
	if n := slow.discovery.Load(); n != 1 {
		t.Errorf("%d discovery requests for concurrent callers, want 1 shared", n)
	}

	// The discovery fails; for a while, callers get that failure at once.
	slow.down.Store(true)
	release()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, _, err := v.Verify(context.Background(), tok)
		if err != nil && strings.Contains(err.Error(), "503") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the failed discovery is not reported: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for range 5 {
		if _, _, err := v.Verify(context.Background(), tok); !errors.Is(err, oidc.ErrIssuerUnavailable) {
			t.Fatalf("Verify within the failure cache time: %v", err)
		}
	}
	if n := slow.discovery.Load(); n != 1 {
		t.Errorf("%d discovery requests while the failure is remembered, want 1", n)
	}

	// Later the issuer is asked again, and works.
	slow.down.Store(false)
	clk.advance(oidc.FailureCacheTime + time.Second)
	if _, _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("Verify after the failure expired: %v", err)
	}
	if n := slow.discovery.Load(); n != 2 {
		t.Errorf("%d discovery requests, want 2", n)
	}
	if errs := v.CheckIssuers(context.Background()); errs[slow.url] != nil || errs[other.URL()] != nil || len(errs) != 2 {
		t.Errorf("CheckIssuers = %v", errs)
	}
}

// TestUnknownKeyIDRefetchIsLimited sends tokens signed with keys the
// issuer does not have, under made-up key IDs: the verifier refetches the
// issuer's keys at most once per KeyRefetchInterval.
func TestUnknownKeyIDRefetchIsLimited(t *testing.T) {
	f := newFakeIssuer(t)
	clk := &clock{now: time.Now()}
	v, err := oidc.NewVerifier([]oidc.IssuerConfig{{URL: f.url, Type: oidc.TypeEmail}}, oidc.VerifierOptions{HTTPClient: f.ts.Client(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, _, err := v.Verify(context.Background(), f.token(t)); err != nil {
		t.Fatal(err)
	}
	fetches := f.jwks.Load()
	forged := func(kid string) string {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.Signed(s).Claims(map[string]any{
			"iss": f.url, "aud": "sigstore", "sub": "mallory@example.com", "email": "mallory@example.com", "email_verified": true,
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix(),
		}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			if _, _, err := v.Verify(context.Background(), forged(string(rune('a'+i))+"-kid")); err == nil {
				t.Error("a forged token verified")
			}
		})
	}
	wg.Wait()
	if n := f.jwks.Load() - fetches; n > 1 {
		t.Errorf("30 tokens with unknown key IDs made %d key fetches, want at most 1", n)
	}
	clk.advance(oidc.KeyRefetchInterval + time.Second)
	before := f.jwks.Load()
	for range 5 {
		_, _, _ = v.Verify(context.Background(), forged("later"))
	}
	if n := f.jwks.Load() - before; n != 1 {
		t.Errorf("after the refetch interval, 5 tokens made %d key fetches, want 1", n)
	}
	// The genuine token still verifies with the cached keys.
	if _, _, err := v.Verify(context.Background(), f.token(t)); err != nil {
		t.Fatal(err)
	}
}
