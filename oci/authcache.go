package oci

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Defaults of AuthCacheOptions.
const (
	// DefaultPingTTL is how long a registry's answer to the ping (GET
	// /v2/: no authentication, or which token service to ask) is reused.
	DefaultPingTTL = 5 * time.Minute
	// DefaultMaxTokenTTL caps how long a bearer token is reused, whatever
	// lifetime the token service gives it.
	DefaultMaxTokenTTL = 5 * time.Minute
	// DefaultAuthCacheEntries bounds the pings, and separately the
	// tokens, an AuthCache holds.
	DefaultAuthCacheEntries = 1000
	// defaultTokenLifetime is the lifetime of a token whose response
	// gives none, as the Docker token specification says.
	defaultTokenLifetime = 60 * time.Second
	// maxTokenResponse bounds a token response that is kept, as
	// go-containerregistry bounds the ones it reads.
	maxTokenResponse = 64 << 10
)

// AuthCacheOptions configure an AuthCache; zero fields take the defaults.
type AuthCacheOptions struct {
	// PingTTL is how long a ping answer is reused; default DefaultPingTTL.
	PingTTL time.Duration
	// MaxTokenTTL caps how long a token is reused; default
	// DefaultMaxTokenTTL. A token is reused for at most three quarters of
	// the lifetime its token service gives it (60 seconds when it gives
	// none), counted from before the request for it.
	MaxTokenTTL time.Duration
	// MaxEntries bounds the pings, and separately the tokens, held; when
	// full, expired entries are dropped and then all. Default
	// DefaultAuthCacheEntries.
	MaxEntries int
	// Now returns the time; default time.Now. For tests.
	Now func() time.Time
}

// AuthCache lets registry clients skip the authentication handshake that
// go-containerregistry makes before a client's first read of a
// repository: the ping of the registry (GET /v2/, answered with 200 or
// with a 401 naming the token service) and, on registries with token
// auth, the token request. It replays the answers to those requests, and
// only those, to identical requests for a while:
//
//   - a ping is replayed for the same scheme and host; pings carry no
//     credentials (one with an Authorization header is never replayed);
//   - a token response is replayed only to a GET of the same token URL
//     (token service, scope and service parameters) with the same
//     Authorization header, that is, to the same credentials, or to
//     anonymous requests when the first was anonymous; only token
//     services that a replayed ping names are cached, and only 200
//     responses holding a token;
//   - a registry answering 401 to any request makes the cache forget its
//     ping and the token that request carried, before go-containerregistry
//     asks for a new token: an expired or revoked token is used at most
//     once more.
//
// Everything else goes to the registry. Each request keeps its own
// context: nothing waits for another request's handshake. An AuthCache is
// safe for concurrent use; share one among the clients of a process.
type AuthCache struct {
	opts AuthCacheOptions

	mu     sync.Mutex
	pings  map[string]*cachedAuth // by "scheme://host"
	realms map[string]*cachedAuth // the token services pings named, by URL
	tokens map[[32]byte]*cachedAuth
}

// cachedAuth is a replayable response.
type cachedAuth struct {
	status  int
	header  http.Header
	body    []byte
	expires time.Time
	// token is a token response's token.
	token string
}

// NewAuthCache returns an empty cache. Negative settings are an error.
func NewAuthCache(opts AuthCacheOptions) (*AuthCache, error) {
	if opts.PingTTL < 0 || opts.MaxTokenTTL < 0 || opts.MaxEntries < 0 {
		return nil, fmt.Errorf("auth cache: PingTTL %s, MaxTokenTTL %s and MaxEntries %d must not be negative", opts.PingTTL, opts.MaxTokenTTL, opts.MaxEntries)
	}
	if opts.PingTTL == 0 {
		opts.PingTTL = DefaultPingTTL
	}
	if opts.MaxTokenTTL == 0 {
		opts.MaxTokenTTL = DefaultMaxTokenTTL
	}
	if opts.MaxEntries == 0 {
		opts.MaxEntries = DefaultAuthCacheEntries
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &AuthCache{opts: opts, pings: map[string]*cachedAuth{}, realms: map[string]*cachedAuth{}, tokens: map[[32]byte]*cachedAuth{}}, nil
}

// Transport returns next (remote.DefaultTransport when nil) behind the
// cache.
func (c *AuthCache) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = LimitTransport(nil, nil)
	}
	return &authCacheTransport{c: c, next: next}
}

type authCacheTransport struct {
	c    *AuthCache
	next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *authCacheTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := t.c
	switch {
	case isPing(req):
		key := req.URL.Scheme + "://" + req.URL.Host
		if e := lookup(c, c.pings, key); e != nil {
			return e.response(req), nil
		}
		resp, err := t.next.RoundTrip(req)
		if err == nil && (resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized) {
			e := &cachedAuth{status: resp.StatusCode, header: pingHeader(resp.Header), expires: c.opts.Now().Add(c.opts.PingTTL)}
			for _, realm := range bearerRealms(resp.Header.Values("WWW-Authenticate")) {
				store(c, c.realms, realm, e)
			}
			store(c, c.pings, key, e)
		}
		return resp, err
	case req.Method == http.MethodGet && c.isRealm(req.URL.Scheme+"://"+req.URL.Host+req.URL.Path):
		key := sha256.Sum256([]byte(req.URL.String() + "\x00" + req.Header.Get("Authorization")))
		if e := lookup(c, c.tokens, key); e != nil {
			return e.response(req), nil
		}
		start := c.opts.Now()
		resp, err := t.next.RoundTrip(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			return resp, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse+1))
		if err != nil {
			resp.Body.Close()
			return nil, err
		}
		if len(body) > maxTokenResponse {
			// Larger than any token: passed on whole, not kept.
			resp.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
			return resp, nil
		}
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if tok, lifetime, ok := parseToken(body); ok {
			ttl := min(lifetime*3/4, c.opts.MaxTokenTTL)
			store(c, c.tokens, key, &cachedAuth{status: resp.StatusCode, header: resp.Header.Clone(), body: body, token: tok, expires: start.Add(ttl)})
		}
		return resp, nil
	}
	resp, err := t.next.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		c.forget(req)
	}
	return resp, err
}

// isPing reports whether req is go-containerregistry's ping: an
// unauthenticated GET /v2/.
func isPing(req *http.Request) bool {
	return req.Method == http.MethodGet && req.URL.Path == "/v2/" && req.URL.RawQuery == "" && req.Header.Get("Authorization") == ""
}

// pingHeader keeps the headers of a ping answer that say how to
// authenticate.
func pingHeader(h http.Header) http.Header {
	out := http.Header{}
	for _, k := range []string{"WWW-Authenticate", "Docker-Distribution-Api-Version"} {
		for _, v := range h.Values(k) {
			out.Add(k, v)
		}
	}
	return out
}

// response replays e as the answer to req.
func (e *cachedAuth) response(req *http.Request) *http.Response {
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", e.status, http.StatusText(e.status)),
		StatusCode:    e.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        e.header.Clone(),
		Body:          io.NopCloser(bytes.NewReader(e.body)),
		ContentLength: int64(len(e.body)),
		Request:       req,
	}
}

// lookup returns the unexpired entry for key in m.
func lookup[K comparable](c *AuthCache, m map[K]*cachedAuth, key K) *cachedAuth {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := m[key]
	if e == nil || !c.opts.Now().Before(e.expires) {
		return nil
	}
	return e
}

// store puts e in m, making room as AuthCacheOptions.MaxEntries says.
func store[K comparable](c *AuthCache, m map[K]*cachedAuth, key K, e *cachedAuth) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(m) >= c.opts.MaxEntries {
		now := c.opts.Now()
		for k, e := range m {
			if !now.Before(e.expires) {
				delete(m, k)
			}
		}
		if len(m) >= c.opts.MaxEntries {
			clear(m)
		}
	}
	m[key] = e
}

// isRealm reports whether u is a token service that an unexpired ping
// named.
func (c *AuthCache) isRealm(u string) bool {
	return lookup(c, c.realms, u) != nil
}

// forget drops what the cache holds about the registry that answered req
// with 401: its ping, and the token req carried.
func (c *AuthCache) forget(req *http.Request) {
	tok, isBearer := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pings, "https://"+req.URL.Host)
	delete(c.pings, "http://"+req.URL.Host)
	if isBearer && tok != "" {
		for k, e := range c.tokens {
			if e.token == tok {
				delete(c.tokens, k)
			}
		}
	}
}

// parseToken reads a token service's response: the token (or OAuth
// access_token) and its lifetime.
func parseToken(body []byte) (string, time.Duration, bool) {
	var t struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &t); err != nil || t.ExpiresIn < 0 {
		return "", 0, false
	}
	tok := t.Token
	if tok == "" {
		tok = t.AccessToken
	}
	if tok == "" {
		return "", 0, false
	}
	lifetime := defaultTokenLifetime
	if t.ExpiresIn > 0 {
		lifetime = time.Duration(min(t.ExpiresIn, 1<<31)) * time.Second
	}
	return tok, lifetime, true
}

// bearerRealms returns the realms ("scheme://host/path", without query)
// of the Bearer challenges among WWW-Authenticate values.
func bearerRealms(values []string) []string {
	var out []string
	for _, v := range values {
		scheme, params, ok := strings.Cut(strings.TrimSpace(v), " ")
		if !ok || !strings.EqualFold(scheme, "bearer") {
			continue
		}
		realm, err := challengeParam(params, "realm")
		if err != nil || realm == "" {
			continue
		}
		if i := strings.IndexAny(realm, "?#"); i >= 0 {
			realm = realm[:i]
		}
		u, err := url.Parse(realm)
		if err != nil || isManifestPath(u.Path) || strings.Contains(u.Path, "/blobs/") {
			// A realm naming registry content would make it replayable.
			continue
		}
		out = append(out, realm)
	}
	return out
}

// challengeParam returns the value of one parameter of a challenge's
// comma-separated list of name=token or name="quoted string".
func challengeParam(params, want string) (string, error) {
	// A parameter without "=" ends the list (it leaves rest empty).
	for s := strings.TrimLeft(params, " \t,"); s != ""; s = strings.TrimLeft(s, " \t,") {
		name, rest, _ := strings.Cut(s, "=")
		name = strings.TrimSpace(name)
		rest = strings.TrimLeft(rest, " \t")
		var value string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
				}
				b.WriteByte(rest[i])
			}
			if i >= len(rest) {
				return "", errors.New("unterminated quoted challenge parameter")
			}
			value, s = b.String(), rest[i+1:]
		} else {
			end := strings.IndexAny(rest, ", \t")
			if end < 0 {
				end = len(rest)
			}
			value, s = rest[:end], rest[end:]
		}
		if strings.EqualFold(name, want) {
			return value, nil
		}
	}
	return "", nil
}
