package oci

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Defaults of the memory of registries without the referrers API.
const (
	// noReferrersTTL is how long a registry that answered the referrers
	// API as one without it is read through the fallback tag alone.
	noReferrersTTL = 5 * time.Minute
	// maxNoReferrers bounds the registries remembered.
	maxNoReferrers = 1000
)

// noReferrers remembers, per registry host, that its referrers API
// (GET /v2/<name>/referrers/<digest>) answered as a registry without one:
// 404, 400 or 406, or 200 with something other than an OCI image index,
// the answers on which go-containerregistry reads the fallback tag
// "sha256-<hex>" instead (OCI distribution spec, referrers tag schema).
// Listings then read the fallback tag at once, in parallel with the
// legacy tags, instead of after a round trip to the API: on such
// registries (GHCR among them) that is one registry round trip less per
// cold listing. Forgetting after noReferrersTTL lets a registry that
// gains the API be read through it again.
type noReferrers struct {
	now func() time.Time

	mu    sync.Mutex
	hosts map[string]time.Time // host → until when
}

func newNoReferrers() *noReferrers {
	return &noReferrers{now: time.Now, hosts: map[string]time.Time{}}
}

// has reports whether host is remembered as a registry without the
// referrers API.
func (n *noReferrers) has(host string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	until, ok := n.hosts[host]
	if ok && !n.now().Before(until) {
		delete(n.hosts, host)
		return false
	}
	return ok
}

// observe remembers the host of a referrers API request answered as by a
// registry without the API.
func (n *noReferrers) observe(req *http.Request, resp *http.Response) {
	if req.Method != http.MethodGet || !isReferrersPath(req.URL.Path) {
		return
	}
	switch resp.StatusCode {
	case http.StatusNotFound, http.StatusBadRequest, http.StatusNotAcceptable:
	case http.StatusOK:
		if types.MediaType(resp.Header.Get("Content-Type")) == types.OCIImageIndex {
			return
		}
	default:
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.hosts) >= maxNoReferrers {
		clear(n.hosts)
	}
	n.hosts[req.URL.Host] = n.now().Add(noReferrersTTL)
}

// isReferrersPath reports whether a registry API path is a referrers API
// request, /v2/<name>/referrers/<digest>.
func isReferrersPath(p string) bool {
	if !strings.HasPrefix(p, "/v2/") {
		return false
	}
	parts := strings.Split(strings.TrimSuffix(p, "/"), "/")
	return len(parts) >= 4 && parts[len(parts)-2] == "referrers"
}

// noReferrersTransport lets n observe every response.
type noReferrersTransport struct {
	next http.RoundTripper
	n    *noReferrers
}

// RoundTrip implements http.RoundTripper.
func (t *noReferrersTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err == nil {
		t.n.observe(req, resp)
	}
	return resp, err
}
