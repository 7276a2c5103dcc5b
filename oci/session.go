package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Bounds on what a registry can make a Client read. A registry is
// untrusted input: it may serve a 99 MiB "manifest", sixty 16 MiB layers,
// or redirect every request to itself.
const (
	// MaxManifestSize bounds a manifest or index document (the referrers
	// API's too), as the OCI distribution spec's 4 MiB: registries need not
	// accept larger ones, so no legitimate client writes them.
	MaxManifestSize = 4 << 20
	// MaxRedirects bounds the redirects one request follows.
	// go-containerregistry follows same-host redirects without a limit.
	MaxRedirects = 5
	// DefaultSessionBytes is the default Limits.MaxBytes.
	DefaultSessionBytes = 64 << 20
	// DefaultSessionRequests is the default Limits.MaxRequests.
	DefaultSessionRequests = 500
)

// ErrLimit is wrapped by errors about a registry that served more than a
// Client reads: a manifest over MaxManifestSize, a redirect chain over
// MaxRedirects, or a Session's byte or request budget spent. What the
// registry serves, not the network, is to blame.
var ErrLimit = errors.New("registry limit exceeded")

// Limits bound the registry work of one Session.
type Limits struct {
	// MaxBytes bounds the response bytes read in the session, over all
	// requests (manifests, indexes, blobs, token exchanges); default
	// DefaultSessionBytes.
	MaxBytes int64
	// MaxRequests bounds the HTTP requests of the session, each redirect
	// counted; default DefaultSessionRequests.
	MaxRequests int64
}

// Session is the registry work of one decision about one image: every
// listing made with it (one per authority, signatures and attestations)
// draws on one byte and request budget, and reads each manifest, index and
// blob once, the first reader's result serving the others. Content is
// shared whatever credentials each listing reads with: all serve one
// decision, and signatures are verified by what they sign, not by who
// could read them. A Session is safe for concurrent use; make a new one
// for each decision.
type Session struct {
	maxBytes, maxRequests int64
	bytes, requests       atomic.Int64

	mu   sync.Mutex
	memo map[string]*memoEntry
}

// NewSession returns a session with the limits (zero fields take the
// defaults). Negative limits are an error.
func NewSession(l Limits) (*Session, error) {
	if l.MaxBytes < 0 || l.MaxRequests < 0 {
		return nil, fmt.Errorf("registry session: limits %d bytes, %d requests must not be negative", l.MaxBytes, l.MaxRequests)
	}
	if l.MaxBytes == 0 {
		l.MaxBytes = DefaultSessionBytes
	}
	if l.MaxRequests == 0 {
		l.MaxRequests = DefaultSessionRequests
	}
	return &Session{maxBytes: l.MaxBytes, maxRequests: l.MaxRequests, memo: map[string]*memoEntry{}}, nil
}

func defaultSession() *Session {
	s, _ := NewSession(Limits{})
	return s
}

// Requests returns the HTTP requests made in the session so far.
func (s *Session) Requests() int64 { return s.requests.Load() }

// Bytes returns the response bytes read in the session so far.
func (s *Session) Bytes() int64 { return s.bytes.Load() }

type memoEntry struct {
	done  chan struct{}
	val   any
	err   error
	retry bool // the reader gave up (its context ended): read again
}

// do returns the result of read for key, reading once for all callers.
// A read that failed because its caller's context ended is not kept:
// the next caller reads again.
func (s *Session) do(ctx context.Context, key string, read func() (any, error)) (any, error) {
	for {
		s.mu.Lock()
		e, ok := s.memo[key]
		if !ok {
			e = &memoEntry{done: make(chan struct{})}
			s.memo[key] = e
			s.mu.Unlock()
			e.val, e.err = read()
			if e.err != nil && ctx.Err() != nil {
				s.mu.Lock()
				delete(s.memo, key)
				s.mu.Unlock()
				e.retry = true
			}
			close(e.done)
			return e.val, e.err
		}
		s.mu.Unlock()
		select {
		case <-e.done:
			if !e.retry {
				return e.val, e.err
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// limitedTransport enforces MaxManifestSize and MaxRedirects on every
// request, and a session's budget when it has one.
type limitedTransport struct {
	base http.RoundTripper
	s    *Session // nil: no budget
}

// LimitTransport wraps base (remote.DefaultTransport when nil) with the
// limits every Client request is held to: manifests and referrers indexes
// of at most MaxManifestSize, at most MaxRedirects redirects, and, when s
// is not nil, s's budget. For registry clients outside this package (tag
// resolution in admission).
func LimitTransport(base http.RoundTripper, s *Session) http.RoundTripper {
	if base == nil {
		base = remote.DefaultTransport
	}
	return &limitedTransport{base: base, s: s}
}

// RoundTrip implements http.RoundTripper.
func (t *limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// http.Client sets Response on the requests it makes to follow a
	// redirect; go-containerregistry's transports pass them on as they are.
	hops := 0
	for r := req; r.Response != nil && r.Response.Request != nil; r = r.Response.Request {
		hops++
		if hops > MaxRedirects {
			return nil, fmt.Errorf("%w: %s %s: more than %d redirects", ErrLimit, req.Method, req.URL.Redacted(), MaxRedirects)
		}
	}
	if t.s != nil {
		if n := t.s.requests.Add(1); n > t.s.maxRequests {
			return nil, fmt.Errorf("%w: %s %s: more than %d registry requests for one image", ErrLimit, req.Method, req.URL.Redacted(), t.s.maxRequests)
		}
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil || req.Method == http.MethodHead {
		return resp, err
	}
	limit := int64(-1)
	if isManifestPath(req.URL.Path) {
		limit = MaxManifestSize
	}
	b := &limitedBody{rc: resp.Body, limit: limit, s: t.s, what: req.Method + " " + req.URL.Redacted()}
	if err := b.check(resp.ContentLength); err != nil {
		resp.Body.Close()
		return nil, err
	}
	resp.Body = b
	return resp, nil
}

// isManifestPath reports whether a registry API path reads a manifest
// (/v2/<name>/manifests/<reference>) or the referrers index
// (/v2/<name>/referrers/<digest>). Repository names may contain
// "manifests", so the next-to-last element decides.
func isManifestPath(p string) bool {
	if !strings.HasPrefix(p, "/v2/") {
		return false
	}
	parts := strings.Split(strings.TrimSuffix(p, "/"), "/")
	if len(parts) < 4 {
		return false
	}
	kind := parts[len(parts)-2]
	return kind == "manifests" || kind == "referrers"
}

// limitedBody fails a response body that grows past its limit (a manifest)
// or its session's budget.
type limitedBody struct {
	rc    io.ReadCloser
	limit int64 // -1: none
	s     *Session
	what  string
	read  int64
}

// check fails a body of n bytes (-1: unknown) that cannot fit.
func (b *limitedBody) check(n int64) error {
	if b.limit >= 0 && n > b.limit {
		return fmt.Errorf("%w: %s: manifest of %d bytes, more than %d (the OCI distribution spec's 4 MiB)", ErrLimit, b.what, n, b.limit)
	}
	if b.s != nil && n > b.s.maxBytes-b.s.bytes.Load() {
		return fmt.Errorf("%w: %s: %d more bytes would exceed the %d bytes read for one image", ErrLimit, b.what, n, b.s.maxBytes)
	}
	return nil
}

// maxReservation bounds the budget one Read of a session's body
// reserves.
const maxReservation = 32 << 10

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.s == nil {
		return b.read1(p)
	}
	// Bodies of a session are read concurrently: each Read first reserves
	// its share of what is left of the budget (one byte over it, to see
	// whether the body goes on), so that together they overshoot it by
	// at most one byte, and gives back what it did not read. Reservations
	// keep the count at most one over the budget, so k is never negative;
	// once the budget is spent, k is 0 and the check below fails the read.
	var k int64
	for {
		used := b.s.bytes.Load()
		k = min(int64(len(p)), maxReservation, b.s.maxBytes+1-used)
		if b.s.bytes.CompareAndSwap(used, used+k) {
			break
		}
	}
	n, err := b.read1(p[:k])
	if b.s.bytes.Add(int64(n)-k) > b.s.maxBytes {
		return n, fmt.Errorf("%w: %s: more than %d bytes read for one image", ErrLimit, b.what, b.s.maxBytes)
	}
	return n, err
}

// read1 reads from the body, holding it to its own limit.
func (b *limitedBody) read1(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.read += int64(n)
	if b.limit >= 0 && b.read > b.limit {
		return n, fmt.Errorf("%w: %s: manifest larger than %d bytes (the OCI distribution spec's 4 MiB)", ErrLimit, b.what, b.limit)
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
