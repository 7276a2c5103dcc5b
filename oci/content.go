package oci

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// Defaults of the content cache (Options.MaxCachedContent).
const (
	// DefaultMaxCachedContent bounds the bytes of the manifests and blobs
	// a Client keeps between operations.
	DefaultMaxCachedContent = 16 << 20
	// contentTTL is how long a manifest or blob is kept. What it holds
	// cannot change (it is named by its digest); the TTL bounds how long
	// content deleted from the registry is served from memory to a
	// listing whose fresh referrers index or tag still names it.
	contentTTL = 10 * time.Minute
	// maxCachedItem bounds one kept manifest or blob: signatures,
	// attestations and their manifests are a few KiB.
	maxCachedItem = 1 << 20
)

// contentCache keeps manifests and blobs read by digest, after checking
// them against their digest, for later listings with the same
// credentials: in an admission, the Pod after its ReplicaSet after its
// Deployment. Listings still read the referrers index and the legacy
// tags (what names the signatures) afresh; only what those name by
// digest, and was read before, is not read again.
type contentCache struct {
	max int64
	now func() time.Time

	mu      sync.Mutex
	entries map[string]contentEntry
	bytes   int64
}

type contentEntry struct {
	data    []byte
	expires time.Time
}

func newContentCache(max int64) *contentCache {
	return &contentCache{max: max, now: time.Now, entries: map[string]contentEntry{}}
}

// get returns the unexpired content for key.
func (c *contentCache) get(key string) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if ok && !c.now().Before(e.expires) {
		delete(c.entries, key)
		c.bytes -= int64(len(e.data))
		return nil, false
	}
	return e.data, ok
}

// put keeps data for key if it has digest (sha256:<hex>). When full,
// expired entries are dropped, then all.
func (c *contentCache) put(key, digest string, data []byte) {
	if c == nil || len(data) > maxCachedItem || int64(len(data)) > c.max {
		return
	}
	sum := sha256.Sum256(data)
	if "sha256:"+hex.EncodeToString(sum[:]) != digest {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[key]; ok {
		c.bytes -= int64(len(old.data))
		delete(c.entries, key)
	}
	if c.bytes+int64(len(data)) > c.max {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
				c.bytes -= int64(len(e.data))
			}
		}
		if c.bytes+int64(len(data)) > c.max {
			clear(c.entries)
			c.bytes = 0
		}
	}
	c.entries[key] = contentEntry{data: data, expires: now.Add(contentTTL)}
	c.bytes += int64(len(data))
}

// credentialsKey names the credentials kc gives for repo: a hash of the
// resolved authn.AuthConfig (anonymous: the empty one), so that content read
// with one set of credentials serves only reads with the same.
func credentialsKey(ctx context.Context, kc authn.Keychain, repo name.Repository) (string, error) {
	auth, err := authn.Resolve(ctx, kc, repo)
	if err != nil {
		return "", fmt.Errorf("registry credentials for %s: %w", repo, err)
	}
	cfg, err := authn.Authorization(ctx, auth)
	if err != nil {
		return "", fmt.Errorf("registry credentials for %s: %w", repo, err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%q %q %q %q %q", cfg.Username, cfg.Password, cfg.Auth, cfg.IdentityToken, cfg.RegistryToken)
	return hex.EncodeToString(h.Sum(nil)), nil
}
