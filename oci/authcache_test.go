package oci_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/sign"
)

// authRegistry is an in-process registry behind Docker token
// authentication with users: tokens name the user and scope they were
// issued for and expire by the registry's clock; repository "private"
// is readable by alice only, the others by anyone, anonymous included.
type authRegistry struct {
	open, authed string // host:port of the open and the authenticated server

	mu        sync.Mutex
	now       time.Time
	expiresIn int // seconds, in token responses; 0: left out
	tokens    map[string]grant
	issued    int
	pings     int
	exchanges map[string]int // token requests by user ("" anonymous)
	served    map[string]int // requests served by the user of their token
	refused   int            // 401 answers to repository requests
	hang      bool           // token requests wait for the client to give up
	reads     []string       // repository requests served: "user kind"
}

type grant struct {
	user, scope string
	expires     time.Time
}

var authUsers = map[string]string{"alice": "alice-pass", "bob": "bob-pass"}

func newAuthRegistry(t *testing.T) *authRegistry {
	t.Helper()
	h := registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0)))
	open := httptest.NewServer(h)
	t.Cleanup(open.Close)
	r := &authRegistry{open: strings.TrimPrefix(open.URL, "http://"), now: time.Unix(1_800_000_000, 0),
		expiresIn: 300, tokens: map[string]grant{}, exchanges: map[string]int{}, served: map[string]int{}}
	authed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/token" {
			r.token(w, req)
			return
		}
		r.mu.Lock()
		if req.URL.Path == "/v2/" && req.Header.Get("Authorization") == "" {
			r.pings++
		}
		scope := ""
		m := repositoryPath.FindStringSubmatch(req.URL.Path)
		if m != nil {
			scope = "repository:" + m[1] + ":pull"
		}
		g, ok := r.tokens[strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")]
		ok = ok && r.now.Before(g.expires) && m != nil && g.scope == scope && (m[1] != "team/private" || g.user == "alice")
		if !ok {
			if m != nil {
				r.refused++
			}
			r.mu.Unlock()
			challenge := fmt.Sprintf(`Bearer realm="http://%s/token",service="test"`, req.Host)
			if scope != "" {
				challenge += fmt.Sprintf(`,scope=%q`, scope)
			}
			w.Header().Set("WWW-Authenticate", challenge)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"token needed"}]}`, http.StatusUnauthorized)
			return
		}
		r.served[g.user]++
		r.reads = append(r.reads, g.user+" "+readKind(req.URL.Path))
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(authed.Close)
	r.authed = strings.TrimPrefix(authed.URL, "http://")
	return r
}

// readKind says what a repository request reads: "referrers", "tag"
// (a manifest by tag), "manifest" (by digest) or "blob".
func readKind(path string) string {
	switch {
	case strings.Contains(path, "/referrers/"):
		return "referrers"
	case strings.Contains(path, "/blobs/"):
		return "blob"
	case strings.Contains(path, "/manifests/sha256:"):
		return "manifest"
	}
	return "tag"
}

// readLog returns and forgets the repository requests served.
func (r *authRegistry) readLog() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reads
	r.reads = nil
	slices.Sort(out)
	return out
}

// token is the token service: any scope for any known user or anonymous.
func (r *authRegistry) token(w http.ResponseWriter, req *http.Request) {
	user, pass, hasAuth := req.BasicAuth()
	if hasAuth && authUsers[user] != pass {
		http.Error(w, "bad credentials", http.StatusUnauthorized)
		return
	}
	r.mu.Lock()
	if r.hang {
		r.mu.Unlock()
		<-req.Context().Done()
		return
	}
	r.issued++
	tok := fmt.Sprintf("token-%d", r.issued)
	r.tokens[tok] = grant{user: user, scope: req.URL.Query().Get("scope"), expires: r.now.Add(time.Duration(max(r.expiresIn, 60)) * time.Second)}
	r.exchanges[user]++
	body := map[string]any{"token": tok}
	if r.expiresIn != 0 {
		body["expires_in"] = r.expiresIn
	}
	r.mu.Unlock()
	json.NewEncoder(w).Encode(body)
}

// counts returns and resets the pings, token requests by user, requests
// served by user and refused.
func (r *authRegistry) counts() (pings int, exchanges, served map[string]int, refused int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pings, exchanges, served, refused = r.pings, r.exchanges, r.served, r.refused
	r.pings, r.exchanges, r.served, r.refused = 0, map[string]int{}, map[string]int{}, 0
	return
}

// clock is the registry's and the cache's time.
func (r *authRegistry) clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

func (r *authRegistry) advance(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = r.now.Add(d)
}

// revoke invalidates every token issued so far, as a token service
// whose tokens expire earlier than it said.
func (r *authRegistry) revoke() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.tokens)
}

// image pushes a random image to repo and returns its digest on the
// authenticated server.
func (r *authRegistry) image(t *testing.T, repo string) name.Digest {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := img.Digest()
	if err := remote.Write(parseRef(t, r.open+"/"+repo+"@"+h.String()), img); err != nil {
		t.Fatal(err)
	}
	return parseRef(t, r.authed+"/"+repo+"@"+h.String()).(name.Digest)
}

// lookup reads with user's credentials ("" anonymous).
func lookup(user string) oci.Lookup {
	if user == "" {
		return oci.Lookup{Keychain: authn.NewMultiKeychain()}
	}
	return oci.Lookup{Keychain: basicKeychain{user, authUsers[user]}}
}

// newAuthClient returns a client without credentials of its own, with a
// cache on the registry's clock.
func newAuthClient(t *testing.T, r *authRegistry) *oci.Client {
	t.Helper()
	cache, err := oci.NewAuthCache(oci.AuthCacheOptions{Now: r.clock})
	if err != nil {
		t.Fatal(err)
	}
	return oci.New(oci.Options{Keychain: authn.NewMultiKeychain(), AuthCache: cache})
}

// TestAuthCacheReuse: a second listing with the same credentials makes
// neither the ping nor the token request again; credentials that differ
// make their own.
func TestAuthCacheReuse(t *testing.T) {
	r := newAuthRegistry(t)
	client := newAuthClient(t, r)
	img := r.image(t, "team/app")
	ctx := context.Background()
	list := func(user string) {
		t.Helper()
		if _, err := client.ListKind(ctx, img, oci.KindSignature, lookup(user)); err != nil {
			t.Fatalf("list as %q: %v", user, err)
		}
	}
	list("alice")
	if pings, exchanges, _, _ := r.counts(); pings != 1 || exchanges["alice"] != 1 {
		t.Errorf("first listing: %d pings, %v token requests, want 1 and alice:1", pings, exchanges)
	}
	list("alice")
	if pings, exchanges, served, _ := r.counts(); pings != 0 || len(exchanges) != 0 || served["alice"] == 0 {
		t.Errorf("second listing: %d pings, %v token requests, served %v; want none, none, alice's", pings, exchanges, served)
	}
	list("bob")
	list("")
	if pings, exchanges, _, _ := r.counts(); pings != 0 || exchanges["bob"] != 1 || exchanges[""] != 1 {
		t.Errorf("bob and anonymous: %d pings, %v token requests, want 0 and one each", pings, exchanges)
	}
}

// TestAuthCacheCredentialIsolation: a token obtained with one user's
// credentials is never sent for another's, nor for anonymous requests,
// whichever comes first: only alice reads the private repository.
func TestAuthCacheCredentialIsolation(t *testing.T) {
	for _, order := range [][]string{{"alice", "bob", "", "alice"}, {"", "bob", "alice", "bob", ""}} {
		t.Run(strings.Join(order, ","), func(t *testing.T) {
			r := newAuthRegistry(t)
			client := newAuthClient(t, r)
			img := r.image(t, "team/private")
			for i, user := range order {
				_, err := client.ListKind(context.Background(), img, oci.KindSignature, lookup(user))
				_, _, served, _ := r.counts()
				if user == "alice" {
					if err != nil {
						t.Errorf("listing %d as alice: %v", i, err)
					}
					continue
				}
				if !errors.Is(err, oci.ErrUnauthorized) {
					t.Errorf("listing %d as %q: err = %v, want ErrUnauthorized", i, user, err)
				}
				if served["alice"] != 0 {
					t.Errorf("listing %d as %q: %d requests served with alice's token", i, user, served["alice"])
				}
			}
		})
	}
}

// TestAuthCacheConcurrentIsolation lists concurrently as alice, bob and
// anonymously through one cache: alice's listings succeed, the others
// never read the private repository (run with -race).
func TestAuthCacheConcurrentIsolation(t *testing.T) {
	r := newAuthRegistry(t)
	client := newAuthClient(t, r)
	img := r.image(t, "team/private")
	users := []string{"alice", "bob", ""}
	errs := make([]error, 24)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = client.ListKind(context.Background(), img, oci.KindSignature, lookup(users[i%len(users)]))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if user := users[i%len(users)]; user == "alice" && err != nil {
			t.Errorf("listing %d as alice: %v", i, err)
		} else if user != "alice" && !errors.Is(err, oci.ErrUnauthorized) {
			t.Errorf("listing %d as %q: err = %v, want ErrUnauthorized", i, user, err)
		}
	}
}

// TestAuthCacheTokenExpiry: a token is reused for three quarters of the
// lifetime its token service gives (60 seconds when it gives none), then
// a new one is asked for before the old one expires.
func TestAuthCacheTokenExpiry(t *testing.T) {
	for _, tt := range []struct {
		expiresIn int
		reuse     time.Duration // still reused after this long
	}{{300, 224 * time.Second}, {0, 44 * time.Second}, {3600, 299 * time.Second}} { // MaxTokenTTL caps the last
		t.Run(fmt.Sprint(tt.expiresIn), func(t *testing.T) {
			r := newAuthRegistry(t)
			r.expiresIn = tt.expiresIn
			client := newAuthClient(t, r)
			img := r.image(t, "team/app")
			list := func() {
				t.Helper()
				if _, err := client.ListKind(context.Background(), img, oci.KindSignature, lookup("alice")); err != nil {
					t.Fatal(err)
				}
			}
			list()
			r.counts()
			r.advance(tt.reuse)
			list()
			if _, exchanges, _, refused := r.counts(); exchanges["alice"] != 0 || refused != 0 {
				t.Errorf("after %s: %d token requests, %d refused, want none", tt.reuse, exchanges["alice"], refused)
			}
			r.advance(2 * time.Second)
			list()
			if _, exchanges, _, refused := r.counts(); exchanges["alice"] != 1 || refused != 0 {
				t.Errorf("after %s: %d token requests, %d refused, want 1 and none", tt.reuse+2*time.Second, exchanges["alice"], refused)
			}
		})
	}
}

// TestAuthCacheRevokedToken: when the registry refuses a cached token
// before its time (401), go-containerregistry asks for a new one and the
// listing succeeds; the cache forgets the refused token, so the next
// listing uses the new one.
func TestAuthCacheRevokedToken(t *testing.T) {
	r := newAuthRegistry(t)
	client := newAuthClient(t, r)
	img := r.image(t, "team/private")
	list := func() {
		t.Helper()
		if _, err := client.ListKind(context.Background(), img, oci.KindSignature, lookup("alice")); err != nil {
			t.Fatal(err)
		}
	}
	list()
	r.revoke()
	r.counts()
	list()
	if _, exchanges, _, refused := r.counts(); exchanges["alice"] == 0 || refused == 0 {
		t.Errorf("after revocation: %d token requests, %d refused; want the refusal to bring a new token", exchanges["alice"], refused)
	}
	list()
	if _, exchanges, _, refused := r.counts(); exchanges["alice"] != 0 || refused != 0 {
		t.Errorf("next listing: %d token requests, %d refused, want none", exchanges["alice"], refused)
	}
}

// TestAuthCacheDeadline: a token service that never answers fails the
// listing at its own deadline, and leaves nothing behind that delays a
// later listing once the service answers again.
func TestAuthCacheDeadline(t *testing.T) {
	r := newAuthRegistry(t)
	client := newAuthClient(t, r)
	img := r.image(t, "team/app")
	r.mu.Lock()
	r.hang = true
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := client.ListKind(ctx, img, oci.KindSignature, lookup("alice"))
	if !errors.Is(err, context.DeadlineExceeded) || !oci.IsUnavailable(err) {
		t.Errorf("hanging token service: err = %v, want a deadline (unavailable)", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("hanging token service: listing returned after %s", d)
	}
	r.mu.Lock()
	r.hang = false
	r.mu.Unlock()
	if _, err := client.ListKind(context.Background(), img, oci.KindSignature, lookup("alice")); err != nil {
		t.Errorf("after the token service recovered: %v", err)
	}
}

// TestResolveSharesAuthCache: resolving a tag and listing what it names
// make one handshake with a shared cache.
func TestResolveSharesAuthCache(t *testing.T) {
	r := newAuthRegistry(t)
	img := r.image(t, "team/app")
	if err := remote.Tag(parseRef(t, r.open+"/team/app:v1").(name.Tag), mustImage(t, r.open+"/team/app@"+img.DigestStr())); err != nil {
		t.Fatal(err)
	}
	cache, err := oci.NewAuthCache(oci.AuthCacheOptions{Now: r.clock})
	if err != nil {
		t.Fatal(err)
	}
	client := oci.New(oci.Options{Keychain: basicKeychain{"alice", authUsers["alice"]}, AuthCache: cache})
	res, err := client.Resolve(context.Background(), r.authed+"/team/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.ListKind(context.Background(), res.Digest, oci.KindSignature, oci.Lookup{}); err != nil {
		t.Fatal(err)
	}
	if pings, exchanges, _, _ := r.counts(); pings != 1 || exchanges["alice"] != 1 {
		t.Errorf("resolve and list: %d pings, %v token requests, want one each", pings, exchanges)
	}
}

func mustImage(t *testing.T, ref string) remote.Taggable {
	t.Helper()
	desc, err := remote.Get(parseRef(t, ref))
	if err != nil {
		t.Fatal(err)
	}
	return desc
}

func parseRef(t *testing.T, ref string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// signedImage pushes an image to repo, signs it with a key in layout on
// the open server, and returns its digest on the authenticated one.
func (r *authRegistry) signedImage(t *testing.T, repo string, layout oci.Layout) name.Digest {
	t.Helper()
	d := r.image(t, repo)
	open := parseRef(t, r.open+"/"+repo+"@"+d.DigestStr()).(name.Digest)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	setup := oci.New(oci.Options{Keychain: authn.NewMultiKeychain()})
	if _, err := setup.SignImage(context.Background(), open, layout, nil, sign.Options{Key: key, UnsafeNoTlog: true}); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestContentReuse: a listing reads again what names the signatures (the
// referrers index, the .sig tag) but not the manifests and blobs an
// earlier listing with the same credentials read by digest; other
// credentials read their own.
func TestContentReuse(t *testing.T) {
	for _, layout := range []oci.Layout{oci.LayoutReferrers, oci.LayoutLegacy} {
		t.Run(string(layout), func(t *testing.T) {
			r := newAuthRegistry(t)
			client := newAuthClient(t, r)
			img := r.signedImage(t, "team/app", layout)
			list := func(user string) {
				t.Helper()
				got, err := client.ListKind(context.Background(), img, oci.KindSignature, lookup(user))
				if err != nil {
					t.Fatal(err)
				}
				if len(got.Attachments) != 1 || got.Attachments[0].Err != nil || got.Attachments[0].Bundle == nil {
					t.Fatalf("listing as %q: %+v, want one signature", user, got.Attachments)
				}
			}
			first := map[oci.Layout][]string{
				oci.LayoutReferrers: {"alice blob", "alice manifest", "alice referrers", "alice tag"},
				oci.LayoutLegacy:    {"alice blob", "alice referrers", "alice tag"},
			}[layout]
			list("alice")
			if diff := cmp.Diff(first, r.readLog()); diff != "" {
				t.Errorf("first listing (-want +got):\n%s", diff)
			}
			list("alice")
			if diff := cmp.Diff([]string{"alice referrers", "alice tag"}, r.readLog()); diff != "" {
				t.Errorf("second listing (-want +got):\n%s", diff)
			}
			list("bob")
			if diff := cmp.Diff(strings.Split(strings.ReplaceAll(strings.Join(first, ","), "alice", "bob"), ","), r.readLog()); diff != "" {
				t.Errorf("listing as bob (-want +got):\n%s", diff)
			}
			// A client that keeps no content reads everything each time.
			uncached := oci.New(oci.Options{Keychain: authn.NewMultiKeychain(), MaxCachedContent: -1})
			for range 2 {
				if _, err := uncached.ListKind(context.Background(), img, oci.KindSignature, lookup("alice")); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(first, r.readLog()); diff != "" {
					t.Errorf("listing without a content cache (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestContentRemoved: a signature removed from the registry is not
// found again, although its content is kept.
func TestContentRemoved(t *testing.T) {
	for _, layout := range []oci.Layout{oci.LayoutReferrers, oci.LayoutLegacy} {
		t.Run(string(layout), func(t *testing.T) {
			r := newAuthRegistry(t)
			client := newAuthClient(t, r)
			img := r.signedImage(t, "team/app", layout)
			got, err := client.ListKind(context.Background(), img, oci.KindSignature, lookup("alice"))
			if err != nil || len(got.Attachments) != 1 {
				t.Fatalf("before removal: %v, %v", got, err)
			}
			open := parseRef(t, r.open+"/team/app@"+img.DigestStr()).(name.Digest)
			switch layout {
			case oci.LayoutReferrers:
				idx, err := remote.Referrers(open)
				if err != nil {
					t.Fatal(err)
				}
				im, err := idx.IndexManifest()
				if err != nil || len(im.Manifests) != 1 {
					t.Fatalf("referrers: %v, %v", im, err)
				}
				if err := remote.Delete(open.Context().Digest(im.Manifests[0].Digest.String())); err != nil {
					t.Fatal(err)
				}
			case oci.LayoutLegacy:
				tag := parseRef(t, r.open+"/team/app:sha256-"+strings.TrimPrefix(img.DigestStr(), "sha256:")+".sig").(name.Tag)
				if err := remote.Write(tag, empty.Image); err != nil {
					t.Fatal(err)
				}
			}
			got, err = client.ListKind(context.Background(), img, oci.KindSignature, lookup("alice"))
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Attachments) != 0 {
				t.Errorf("after removal: %d signatures listed, want none", len(got.Attachments))
			}
		})
	}
}

// failingKeychain cannot resolve credentials.
type failingKeychain struct{}

func (failingKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return nil, errors.New("secret store down")
}

// failingAuth resolves to credentials that cannot be read.
type failingAuth struct{}

func (failingAuth) Resolve(authn.Resource) (authn.Authenticator, error) { return failingAuth{}, nil }
func (failingAuth) Authorization() (*authn.AuthConfig, error) {
	return nil, errors.New("helper failed")
}

// TestListCredentialsErrors: credentials that cannot be read fail the
// listing with the reason.
func TestListCredentialsErrors(t *testing.T) {
	r := newAuthRegistry(t)
	client := newAuthClient(t, r)
	img := r.image(t, "team/app")
	for _, tt := range []struct {
		kc   authn.Keychain
		want string
	}{{failingKeychain{}, "secret store down"}, {failingAuth{}, "helper failed"}} {
		_, err := client.ListKind(context.Background(), img, oci.KindSignature, oci.Lookup{Keychain: tt.kc})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("err = %v, want %q", err, tt.want)
		}
	}
}
