package admission

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/signetproject/signet/policy"
)

// CacheKey identifies a decision: the same digest under the same policy
// generation, in the same kind of object with the same labels (spec.match
// may select on both), read with the same registry credentials, gets the
// same decision.
type CacheKey struct {
	// Image is the digest reference ("registry/repo@sha256:…").
	Image string
	// Generation is the policy generation the engine was built from.
	Generation uint64
	// Resource is the group/version/resource and sorted labels of the
	// object.
	Resource string
	// Credentials names where the registry credentials of the object come
	// from: its namespace (where signaturePullSecrets are read too), service
	// account and imagePullSecrets. Signatures one pod may read may be
	// hidden from another.
	Credentials string
}

func (k CacheKey) String() string {
	return fmt.Sprintf("%d|%s|%s|%s", k.Generation, k.Image, k.Resource, k.Credentials)
}

// CacheOptions configure a DecisionCache.
type CacheOptions struct {
	// TTL is how long an admitting decision is reused; default 5 minutes.
	TTL time.Duration
	// DenyTTL is how long a denying decision is reused; default 10
	// seconds, so that a signature pushed after a denial is seen soon.
	DenyTTL time.Duration
	// TagTTL is how long the digest a tag resolved to is reused, per
	// namespace, by the webhooks sharing the cache; default 30 seconds. A
	// tag moved to another digest is seen after at most this long.
	TagTTL time.Duration
	// MaxEntries bounds the decisions, and separately the tags, held;
	// when full, expired entries are dropped and then the cache is
	// emptied. Default 10000.
	MaxEntries int
	// Now returns the time; default time.Now. For tests.
	Now func() time.Time
}

// Validate reports negative settings.
func (o *CacheOptions) Validate() error {
	if o.TTL < 0 || o.DenyTTL < 0 || o.TagTTL < 0 || o.MaxEntries < 0 {
		return fmt.Errorf("cache options: TTL %s, DenyTTL %s, TagTTL %s and MaxEntries %d must not be negative", o.TTL, o.DenyTTL, o.TagTTL, o.MaxEntries)
	}
	return nil
}

// DecisionCache remembers decisions per CacheKey for a TTL and makes
// concurrent evaluations of the same key share one engine call
// (singleflight). It also remembers, for TagTTL, the digests tags resolved
// to, so that images admitted by tag do not cost a registry round trip
// each time. It is safe for concurrent use.
type DecisionCache struct {
	opts  CacheOptions
	group singleflight.Group

	mu         sync.Mutex
	entries    map[CacheKey]cacheEntry
	generation uint64 // newest generation seen; older entries are dropped
	tags       map[tagKey]tagEntry
}

// tagKey is a tag as written in an object of a namespace: pull secrets,
// and so what a tag may resolve to, are per namespace.
type tagKey struct{ namespace, image string }

type tagEntry struct {
	digest  resolvedImage
	expires time.Time
}

type cacheEntry struct {
	decision policy.Decision
	expires  time.Time
}

// NewDecisionCache returns an empty cache.
func NewDecisionCache(opts CacheOptions) (*DecisionCache, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.TTL == 0 {
		opts.TTL = 5 * time.Minute
	}
	if opts.DenyTTL == 0 {
		opts.DenyTTL = 10 * time.Second
	}
	if opts.TagTTL == 0 {
		opts.TagTTL = 30 * time.Second
	}
	if opts.MaxEntries == 0 {
		opts.MaxEntries = 10000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &DecisionCache{opts: opts, entries: map[CacheKey]cacheEntry{}, tags: map[tagKey]tagEntry{}}, nil
}

// CacheResult says where a decision came from.
type CacheResult string

// Cache results, the values of the cache metric's "result" label.
const (
	CacheHit    CacheResult = "hit"    // a stored decision
	CacheMiss   CacheResult = "miss"   // this call evaluated
	CacheShared CacheResult = "shared" // another caller's concurrent evaluation
)

// Evaluation is what Decide runs on a cache miss. It receives a context
// detached from any one caller's cancellation (a caller giving up must not
// fail the others sharing the evaluation); it should bound its own time.
// cacheable false keeps the decision out of the cache.
type Evaluation func(ctx context.Context) (d policy.Decision, cacheable bool)

// Decide returns the cached decision for key or runs eval, once for all
// concurrent callers with the same key. It returns ctx's error if ctx ends
// first; the evaluation goes on for the other callers.
func (c *DecisionCache) Decide(ctx context.Context, key CacheKey, eval Evaluation) (policy.Decision, CacheResult, error) {
	if d, ok := c.get(key); ok {
		return d, CacheHit, nil
	}
	// Evaluations outlive the first caller's context on purpose; each
	// caller waits only as long as its own context allows.
	detached := context.WithoutCancel(ctx)
	// Only the leader's function runs; these are read after the channel
	// receive, which happens after the function returned.
	ran, hit := false, false
	ch := c.group.DoChan(key.String(), func() (any, error) {
		// Another caller may have stored the decision while this one
		// waited to become the leader.
		if d, ok := c.get(key); ok {
			hit = true
			return d, nil
		}
		ran = true
		d, cacheable := eval(detached)
		if cacheable {
			c.put(key, d)
		}
		return d, nil
	})
	select {
	case r := <-ch:
		res := CacheShared
		switch {
		case hit:
			res = CacheHit
		case ran:
			res = CacheMiss
		}
		return r.Val.(policy.Decision), res, nil
	case <-ctx.Done():
		return policy.Decision{}, "", fmt.Errorf("wait for the decision on %s: %w", key.Image, ctx.Err())
	}
}

func (c *DecisionCache) get(key CacheKey) (policy.Decision, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return policy.Decision{}, false
	}
	if !c.opts.Now().Before(e.expires) {
		delete(c.entries, key)
		return policy.Decision{}, false
	}
	return e.decision, true
}

func (c *DecisionCache) put(key CacheKey, d policy.Decision) {
	ttl := c.opts.TTL
	if !d.Allowed {
		ttl = c.opts.DenyTTL
	}
	now := c.opts.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if key.Generation < c.generation {
		return // decided under policies that have since changed
	}
	if key.Generation > c.generation {
		c.generation = key.Generation
		clear(c.entries)
	}
	if len(c.entries) >= c.opts.MaxEntries {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.opts.MaxEntries {
			clear(c.entries)
		}
	}
	c.entries[key] = cacheEntry{decision: d, expires: now.Add(ttl)}
}

// tag returns the unexpired resolution of a tag in a namespace.
func (c *DecisionCache) tag(namespace, image string) (resolvedImage, bool) {
	key := tagKey{namespace, image}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.tags[key]
	if !ok {
		return resolvedImage{}, false
	}
	if !c.opts.Now().Before(e.expires) {
		delete(c.tags, key)
		return resolvedImage{}, false
	}
	return e.digest, true
}

// putTag remembers a tag's resolution for TagTTL.
func (c *DecisionCache) putTag(namespace, image string, r resolvedImage) {
	now := c.opts.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.tags) >= c.opts.MaxEntries {
		for k, e := range c.tags {
			if !now.Before(e.expires) {
				delete(c.tags, k)
			}
		}
		if len(c.tags) >= c.opts.MaxEntries {
			clear(c.tags)
		}
	}
	c.tags[tagKey{namespace, image}] = tagEntry{digest: r, expires: now.Add(c.opts.TagTTL)}
}

// Len returns the number of stored decisions, expired ones included.
func (c *DecisionCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
