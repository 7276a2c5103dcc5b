package oci

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestAuthCacheReplaysOnlyHandshakes drives the cache's transport by hand
// against a server whose every answer differs: only unauthenticated pings
// and token requests to the realm a ping named, with the same
// Authorization header, are answered from memory.
func TestAuthCacheReplaysOnlyHandshakes(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		i := n.Add(1)
		switch req.URL.Path {
		case "/v2/":
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token?x=1",service="test"`, req.Host))
			w.WriteHeader(http.StatusUnauthorized)
		case "/token", "/other":
			switch req.URL.Query().Get("scope") {
			case "fail": // an error is never replayed, whatever it says
				w.WriteHeader(http.StatusServiceUnavailable)
			case "big": // nor a response larger than any token
				fmt.Fprintf(w, `{"token":"t%d","pad":%q}`, i, strings.Repeat("x", maxTokenResponse))
				return
			case "oauth": // an OAuth token is one
				fmt.Fprintf(w, `{"access_token":"t%d","expires_in":300}`, i)
				return
			case "none", "badjson", "expired": // these are not
				fmt.Fprint(w, map[string]string{
					"none":    fmt.Sprintf(`{"expires_in":300,"n":%d}`, i),
					"badjson": fmt.Sprintf(`{"token":"t%d","expires_in":"300"}`, i),
					"expired": fmt.Sprintf(`{"token":"t%d","expires_in":-1}`, i),
				}[req.URL.Query().Get("scope")])
				return
			case "cut": // a response cut short is an error
				w.Header().Set("Content-Length", "100")
				fmt.Fprintf(w, `{"token":"t%d"`, i)
				return
			}
			fmt.Fprintf(w, `{"token":"t%d","expires_in":300}`, i)
		case "/refused":
			w.WriteHeader(http.StatusUnauthorized)
		default:
			http.NotFound(w, req)
		}
	}))
	defer srv.Close()
	cache, err := NewAuthCache(AuthCacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rt := cache.Transport(http.DefaultTransport)
	get := func(path, auth string) string {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %t %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate") != "", b)
	}
	var got []string
	for _, step := range []struct{ path, auth string }{
		{"/other", ""},                   // no realm known yet
		{"/token?scope=a", "Basic YTpi"}, // not a realm yet: no ping seen
		{"/v2/", ""},                     // ping: remembered
		{"/v2/", ""},                     // replayed
		{"/v2/", "Basic YTpi"},           // authenticated: not a ping
		{"/token?scope=a", "Basic YTpi"},
		{"/token?scope=a", "Basic YTpi"}, // replayed
		{"/token?scope=a", "Basic Yzpk"}, // other credentials
		{"/token?scope=a", ""},           // anonymous
		{"/token?scope=a", ""},           // replayed
		{"/token?scope=b", "Basic YTpi"}, // other scope
		{"/other", ""},                   // not the realm
		{"/other", ""},
		{"/token?scope=fail", ""},
		{"/token?scope=fail", ""},
	} {
		got = append(got, step.path+" "+step.auth+": "+get(step.path, step.auth))
	}
	want := []string{
		"/other : 200 false {\"token\":\"t1\",\"expires_in\":300}",
		"/token?scope=a Basic YTpi: 200 false {\"token\":\"t2\",\"expires_in\":300}",
		"/v2/ : 401 true ",
		"/v2/ : 401 true ",
		"/v2/ Basic YTpi: 401 true ",
		"/token?scope=a Basic YTpi: 200 false {\"token\":\"t5\",\"expires_in\":300}",
		"/token?scope=a Basic YTpi: 200 false {\"token\":\"t5\",\"expires_in\":300}",
		"/token?scope=a Basic Yzpk: 200 false {\"token\":\"t6\",\"expires_in\":300}",
		"/token?scope=a : 200 false {\"token\":\"t7\",\"expires_in\":300}",
		"/token?scope=a : 200 false {\"token\":\"t7\",\"expires_in\":300}",
		"/token?scope=b Basic YTpi: 200 false {\"token\":\"t8\",\"expires_in\":300}",
		"/other : 200 false {\"token\":\"t9\",\"expires_in\":300}",
		"/other : 200 false {\"token\":\"t10\",\"expires_in\":300}",
		"/token?scope=fail : 503 false {\"token\":\"t11\",\"expires_in\":300}",
		"/token?scope=fail : 503 false {\"token\":\"t12\",\"expires_in\":300}",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}

	// A 401 to a request carrying a cached token forgets the token and
	// the registry's ping.
	get("/refused", "Bearer t5")
	if got := get("/token?scope=a", "Basic YTpi"); got != "200 false {\"token\":\"t14\",\"expires_in\":300}" {
		t.Errorf("after the refusal of t5: token request answered %q, want a new token", got)
	}
	if got := get("/token?scope=a", ""); got != "200 false {\"token\":\"t7\",\"expires_in\":300}" {
		t.Errorf("after the refusal of t5: anonymous token request answered %q, want t7 still", got)
	}
	before := n.Load()
	get("/v2/", "")
	if n.Load() != before+1 {
		t.Errorf("after a refusal: the ping was replayed")
	}
	before = n.Load()
	for range 2 {
		if got := get("/token?scope=big", ""); len(got) < maxTokenResponse+20 {
			t.Errorf("a token response over %d bytes was cut to %d", maxTokenResponse, len(got))
		}
	}
	if n.Load() != before+2 {
		t.Errorf("a token response over %d bytes was replayed", maxTokenResponse)
	}
	for _, tt := range []struct {
		scope   string
		replays bool
	}{{"oauth", true}, {"none", false}, {"badjson", false}, {"expired", false}} {
		before := n.Load()
		first, second := get("/token?scope="+tt.scope, ""), get("/token?scope="+tt.scope, "")
		if replayed := n.Load() == before+1; replayed != tt.replays || (first == second) != tt.replays {
			t.Errorf("token response %q: replayed %v (%q, then %q), want %v", tt.scope, replayed, first, second, tt.replays)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/token?scope=cut", nil)
	if resp, err := rt.RoundTrip(req); err == nil {
		resp.Body.Close()
		t.Errorf("token response cut short: no error")
	}
}

// TestAuthCachePingErrors: a ping answered with anything but 200 or 401
// (a registry in trouble) is not replayed.
func TestAuthCachePingErrors(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	cache, err := NewAuthCache(AuthCacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rt := cache.Transport(nil) // remote.DefaultTransport
	var got []int
	for range 3 {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v2/", nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got = append(got, resp.StatusCode)
	}
	if diff := cmp.Diff([]int{503, 200, 200}, got); diff != "" || n.Load() != 2 {
		t.Errorf("pings answered %v (-want +got):\n%s, %d reached the registry, want 2", got, diff, n.Load())
	}
}

// TestAuthCacheBounded: the cache holds at most MaxEntries pings and
// tokens, dropping expired entries first.
func TestAuthCacheBounded(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	cache, err := NewAuthCache(AuthCacheOptions{MaxEntries: 3, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		store(cache, cache.pings, fmt.Sprint(i), &cachedAuth{expires: now.Add(time.Duration(i) * time.Second)})
		if len(cache.pings) > 3 {
			t.Fatalf("after %d pings: %d held, want at most 3", i+1, len(cache.pings))
		}
	}
	// Expired entries go first, unexpired ones stay.
	store(cache, cache.tokens, [32]byte{1}, &cachedAuth{expires: now.Add(time.Hour)})
	store(cache, cache.tokens, [32]byte{2}, &cachedAuth{expires: now.Add(-time.Second)})
	store(cache, cache.tokens, [32]byte{3}, &cachedAuth{expires: now.Add(time.Hour)})
	store(cache, cache.tokens, [32]byte{4}, &cachedAuth{expires: now.Add(time.Hour)})
	if _, ok := cache.tokens[[32]byte{1}]; !ok || len(cache.tokens) != 3 {
		t.Errorf("tokens after making room: %d held, first kept %v; want 3 and true", len(cache.tokens), ok)
	}
	if _, err := NewAuthCache(AuthCacheOptions{PingTTL: -1}); err == nil {
		t.Error("negative PingTTL accepted")
	}
}

func TestBearerRealms(t *testing.T) {
	tests := []struct {
		header []string
		want   []string
	}{
		{[]string{`Bearer realm="https://auth.example/token",service="registry.example"`}, []string{"https://auth.example/token"}},
		{[]string{`bearer service="x", realm="https://a.example/t?x=1"`}, []string{"https://a.example/t"}},
		{[]string{`Bearer realm=https://a.example/t,service=x`}, []string{"https://a.example/t"}},
		{[]string{`Bearer service=x, realm=https://a.example/t`}, []string{"https://a.example/t"}},
		{[]string{`Bearer token68, realm="https://a.example/t"`}, nil},
		{[]string{`Bearer realm="https://a.example/\"q\""`}, []string{`https://a.example/"q"`}},
		{[]string{`Basic realm="https://a.example/"`}, nil},
		{[]string{`Bearer realm="unterminated`}, nil},
		{[]string{`Bearer service="x"`}, nil},
		{[]string{`Bearer`, `Bearer realm="https://b.example/t"`}, []string{"https://b.example/t"}},
		{[]string{`Bearer realm="https://gcr.example/v2/token"`}, []string{"https://gcr.example/v2/token"}},
		// Registry content is never a token service.
		{[]string{`Bearer realm="https://r.example/v2/team/app/manifests/latest"`}, nil},
		{[]string{`Bearer realm="https://r.example/v2/team/app/referrers/sha256:00"`}, nil},
		{[]string{`Bearer realm="https://r.example/v2/team/app/blobs/sha256:00"`}, nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, bearerRealms(tt.header)); diff != "" {
			t.Errorf("bearerRealms(%q) (-want +got):\n%s", tt.header, diff)
		}
	}
}

func FuzzBearerRealms(f *testing.F) {
	f.Add(`realm="https://auth.example/token",service="registry.example"`)
	f.Add(`realm=x,scope="repository:a:pull"`)
	f.Add(`realm="a\"b"`)
	f.Fuzz(func(t *testing.T, params string) {
		for _, realm := range bearerRealms([]string{"Bearer " + params}) {
			if strings.ContainsAny(realm, "?#") {
				t.Errorf("realm %q keeps its query", realm)
			}
		}
		// A realm written as a quoted string is read back as written.
		if !strings.ContainsAny(params, "\"\\?#") {
			got := bearerRealms([]string{`Bearer realm="` + params + `"`})
			if len(got) != 1 || got[0] != params {
				t.Errorf("quoted realm %q read as %q", params, got)
			}
		}
	})
}

// TestContentCache: content is kept only under its own digest, within
// the byte bound, and expires.
func TestContentCache(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := newContentCache(100)
	c.now = func() time.Time { return now }
	digest := func(b []byte) string {
		sum := sha256.Sum256(b)
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	a, b := []byte(strings.Repeat("a", 40)), []byte(strings.Repeat("b", 40))
	c.put("x", digest(b), a) // not a's digest
	if _, ok := c.get("x"); ok {
		t.Error("content kept under another digest")
	}
	c.put("a", digest(a), a)
	c.put("a", digest(a), a) // again: counted once
	c.put("b", digest(b), b)
	if c.bytes != 80 {
		t.Errorf("%d bytes counted for 80 held", c.bytes)
	}
	if got, ok := c.get("a"); !ok || string(got) != string(a) {
		t.Errorf("get(a) = %q, %v", got, ok)
	}
	big := []byte(strings.Repeat("c", 101))
	c.put("big", digest(big), big)
	if _, ok := c.get("big"); ok {
		t.Error("content larger than the cache kept")
	}
	// Making room drops expired content first: a, put before b, expires
	// first.
	now = now.Add(contentTTL / 2)
	c.put("b", digest(b), b)
	now = now.Add(contentTTL/2 + time.Second)
	d := []byte(strings.Repeat("d", 40))
	c.put("d", digest(d), d) // 120 bytes: makes room
	if c.bytes > 100 {
		t.Errorf("%d bytes held, at most 100 allowed", c.bytes)
	}
	if _, ok := c.get("d"); !ok {
		t.Error("newest content not kept")
	}
	if _, ok := c.get("b"); !ok {
		t.Error("unexpired content dropped to make room")
	}
	// Nothing expired: everything goes.
	e := []byte(strings.Repeat("e", 40))
	c.put("e", digest(e), e)
	if _, ok := c.get("e"); !ok || c.bytes != 40 {
		t.Errorf("after making room with nothing expired: %d bytes held, newest kept %v; want 40 and true", c.bytes, ok)
	}
	now = now.Add(contentTTL)
	if _, ok := c.get("d"); ok {
		t.Error("content kept past its TTL")
	}
}

// TestNoReferrersObserve pins which answers mark a registry as one
// without the referrers API, and that the mark expires.
func TestNoReferrersObserve(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		name, method, path string
		status             int
		contentType        string
		want               bool
	}{
		{"404", http.MethodGet, "/v2/team/app/referrers/sha256:ab", http.StatusNotFound, "", true},
		{"400", http.MethodGet, "/v2/team/app/referrers/sha256:ab", http.StatusBadRequest, "", true},
		{"406", http.MethodGet, "/v2/team/app/referrers/sha256:ab", http.StatusNotAcceptable, "", true},
		{"200 not an index", http.MethodGet, "/v2/team/app/referrers/sha256:ab", http.StatusOK, "text/html", true},
		{"200 index", http.MethodGet, "/v2/team/app/referrers/sha256:ab", http.StatusOK, "application/vnd.oci.image.index.v1+json", false},
		{"401", http.MethodGet, "/v2/team/app/referrers/sha256:ab", http.StatusUnauthorized, "", false},
		{"500", http.MethodGet, "/v2/team/app/referrers/sha256:ab", http.StatusInternalServerError, "", false},
		{"HEAD", http.MethodHead, "/v2/team/app/referrers/sha256:ab", http.StatusNotFound, "", false},
		{"manifest 404", http.MethodGet, "/v2/team/referrers/manifests/sha256:ab", http.StatusNotFound, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNoReferrers()
			n.now = func() time.Time { return now }
			req := httptest.NewRequest(tc.method, "http://reg.example"+tc.path, nil)
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{"Content-Type": {tc.contentType}}}
			n.observe(req, resp)
			if got := n.has("reg.example"); got != tc.want {
				t.Errorf("remembered: %v, want %v", got, tc.want)
			}
			if n.has("other.example") {
				t.Error("another registry is remembered")
			}
			n.now = func() time.Time { return now.Add(noReferrersTTL) }
			if n.has("reg.example") {
				t.Error("still remembered after noReferrersTTL")
			}
		})
	}
}
