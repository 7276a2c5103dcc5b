package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// Timings of remote issuers. A failed discovery is remembered for
// FailureCacheTime, so that requests for a down issuer fail at once rather
// than each wait for it; a token whose key ID the cached JWKS lacks makes
// the verifier refetch the JWKS at most once per KeyRefetchInterval, so
// tokens with made-up key IDs cannot make it hammer the issuer.
const (
	FailureCacheTime   = 5 * time.Second
	KeyRefetchInterval = 30 * time.Second
	// fetchTimeout bounds one discovery or JWKS fetch, whoever waits.
	fetchTimeout = 10 * time.Second
	// maxJWKSBytes bounds a JWKS document.
	maxJWKSBytes = 1 << 20
)

// flight is one discovery or key fetch that every caller interested in it
// shares; each waits for it only as long as its own context allows.
type flight[T any] struct {
	done chan struct{}
	val  T
	err  error
}

// wait returns the flight's result, or ctx's error if ctx ends first.
func (f *flight[T]) wait(ctx context.Context) (T, error) {
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// remote is what the verifier knows about a remote issuer: its verifier
// once discovered, or why discovery last failed.
type remote struct {
	mu       sync.Mutex
	verifier *gooidc.IDTokenVerifier
	checked  time.Time // when discovery last succeeded
	err      error     // the last discovery failure, if after checked
	failed   time.Time
	inflight *flight[*gooidc.IDTokenVerifier]
}

// discover returns the issuer's token verifier, discovering the issuer if
// it was not yet, or if the last success is older than maxAge (0: any age
// will do). One discovery at a time runs per issuer, shared by all callers;
// a failure is returned without a new attempt for FailureCacheTime.
func (v *Verifier) discover(ctx context.Context, is *issuer, maxAge time.Duration) (*gooidc.IDTokenVerifier, error) {
	r := is.remote
	now := v.now()
	r.mu.Lock()
	if r.verifier != nil && (maxAge == 0 || now.Sub(r.checked) < maxAge) {
		ver := r.verifier
		r.mu.Unlock()
		return ver, nil
	}
	if r.err != nil && now.Sub(r.failed) < FailureCacheTime {
		err := r.err
		r.mu.Unlock()
		return nil, err
	}
	f := r.inflight
	if f == nil {
		f = &flight[*gooidc.IDTokenVerifier]{done: make(chan struct{})}
		r.inflight = f
		v.flights.Go(func() { v.runDiscovery(is, f) })
	}
	r.mu.Unlock()
	ver, err := f.wait(ctx)
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("%w: discover %s: %v", ErrIssuerUnavailable, is.cfg.URL, ctx.Err())
	}
	return ver, err
}

// runDiscovery fetches the issuer's discovery document and makes its token
// verifier, and records the outcome.
func (v *Verifier) runDiscovery(is *issuer, f *flight[*gooidc.IDTokenVerifier]) {
	ctx, cancel := context.WithTimeout(v.base, fetchTimeout)
	defer cancel()
	p, err := gooidc.NewProvider(gooidc.ClientContext(ctx, v.client), is.cfg.URL)
	var ver *gooidc.IDTokenVerifier
	if err == nil {
		var meta struct {
			JWKSURL string `json:"jwks_uri"`
		}
		if err = p.Claims(&meta); err == nil && meta.JWKSURL == "" {
			err = errors.New("discovery document has no jwks_uri")
		}
		if err == nil {
			ver = gooidc.NewVerifier(is.cfg.URL, v.newRemoteKeys(meta.JWKSURL), v.config(is.cfg))
		}
	}
	if err != nil {
		err = fmt.Errorf("%w: discover %s: %v", ErrIssuerUnavailable, is.cfg.URL, err)
	}
	r := is.remote
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.err, r.failed = err, v.now()
	} else {
		r.verifier, r.checked, r.err = ver, v.now(), nil
	}
	r.inflight = nil
	f.val, f.err = ver, err
	close(f.done)
}

// remoteKeys is an issuer's JWKS, fetched when a token needs a key it does
// not hold, at most once per KeyRefetchInterval.
type remoteKeys struct {
	url string
	v   *Verifier

	mu       sync.Mutex
	keys     []jose.JSONWebKey
	fetched  time.Time // when the last fetch started; zero before the first
	err      error     // why the last fetch failed; nil if it did not
	inflight *flight[[]jose.JSONWebKey]
}

func (v *Verifier) newRemoteKeys(url string) *remoteKeys { return &remoteKeys{url: url, v: v} }

// VerifySignature implements gooidc.KeySet.
func (k *remoteKeys) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSigned(raw, joseAlgs)
	if err != nil {
		return nil, fmt.Errorf("malformed JWT: %v", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("JWT has %d signatures, want 1", len(jws.Signatures))
	}
	kid := jws.Signatures[0].Header.KeyID
	k.mu.Lock()
	keys := k.keys
	k.mu.Unlock()
	if payload, ok := verifyWithKeys(jws, kid, keys); ok {
		return payload, nil
	}
	keys, err = k.refresh(ctx)
	if err != nil {
		return nil, err
	}
	if payload, ok := verifyWithKeys(jws, kid, keys); ok {
		return payload, nil
	}
	return nil, fmt.Errorf("no key of %s verifies the token (key ID %q)", k.url, kid)
}

func verifyWithKeys(jws *jose.JSONWebSignature, kid string, keys []jose.JSONWebKey) ([]byte, bool) {
	for _, key := range keys {
		if kid != "" && key.KeyID != kid {
			continue
		}
		if payload, err := jws.Verify(&key); err == nil {
			return payload, true
		}
	}
	return nil, false
}

// refresh fetches the JWKS unless it was fetched less than
// KeyRefetchInterval ago, sharing one fetch between callers.
func (k *remoteKeys) refresh(ctx context.Context) ([]jose.JSONWebKey, error) {
	k.mu.Lock()
	f := k.inflight
	if f == nil {
		now := k.v.now()
		if !k.fetched.IsZero() && now.Sub(k.fetched) < KeyRefetchInterval {
			err := k.err
			k.mu.Unlock()
			if err != nil {
				return nil, fmt.Errorf("%w: fetch keys of %s: %v", ErrIssuerUnavailable, k.url, err)
			}
			return nil, fmt.Errorf("no key of %s verifies the token, and its keys were fetched %s ago (at most once per %s)",
				k.url, now.Sub(k.fetched).Round(time.Second), KeyRefetchInterval)
		}
		k.fetched = now
		f = &flight[[]jose.JSONWebKey]{done: make(chan struct{})}
		k.inflight = f
		k.v.flights.Go(func() { k.fetch(f) })
	}
	k.mu.Unlock()
	keys, err := f.wait(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: fetch keys of %s: %v", ErrIssuerUnavailable, k.url, err)
	}
	return keys, nil
}

func (k *remoteKeys) fetch(f *flight[[]jose.JSONWebKey]) {
	keys, err := k.get()
	k.mu.Lock()
	defer k.mu.Unlock()
	if err == nil {
		k.keys = keys
	}
	k.err = err
	k.inflight = nil
	f.val, f.err = keys, err
	close(f.done)
}

// get fetches and parses the JWKS, skipping keys of unsupported types.
func (k *remoteKeys) get() ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(k.v.base, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := k.v.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", k.url, resp.Status)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("JWKS larger than %d bytes", maxJWKSBytes)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("JWKS: %v", err)
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		var key jose.JSONWebKey
		if err := key.UnmarshalJSON(raw); err != nil || !key.Valid() || !key.IsPublic() {
			continue // a key type this verifier cannot use
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// joseAlgs are signingAlgs for go-jose.
var joseAlgs = func() []jose.SignatureAlgorithm {
	out := make([]jose.SignatureAlgorithm, len(signingAlgs))
	for i, a := range signingAlgs {
		out[i] = jose.SignatureAlgorithm(a)
	}
	return out
}()

// CheckIssuers reports, for each configured issuer URL, whether it can
// verify tokens now: nil for static issuers and for remote ones whose
// discovery succeeded within the last minute, else the result of a new
// discovery (shared with concurrent callers, bounded by ctx, a failure
// remembered for FailureCacheTime).
func (v *Verifier) CheckIssuers(ctx context.Context) map[string]error {
	out := make(map[string]error, len(v.issuers))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for url, is := range v.issuers {
		if is.remote == nil {
			mu.Lock()
			out[url] = nil
			mu.Unlock()
			continue
		}
		wg.Go(func() {
			_, err := v.discover(ctx, is, time.Minute)
			mu.Lock()
			out[url] = err
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// Close stops discoveries and key fetches in progress and waits for them.
// Verify fails with ErrIssuerUnavailable for remote issuers afterwards.
func (v *Verifier) Close() {
	v.stop()
	v.flights.Wait()
}
