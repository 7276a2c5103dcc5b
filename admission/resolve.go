package admission

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signetproject/signet/oci"
)

// Resolver resolves an image tag to the digest it points at now.
type Resolver interface {
	Resolve(ctx context.Context, ref name.Tag, keychain authn.Keychain) (v1.Hash, error)
}

// RemoteResolver resolves tags against their registries with
// go-containerregistry: a HEAD request for the manifest, then a GET when
// the registry does not answer HEAD with a digest. Requests are held to
// the limits of every signet registry client (oci.LimitTransport): a
// manifest of at most 4 MiB, at most oci.MaxRedirects redirects.
type RemoteResolver struct {
	// Options are extra remote options (user agent…); the context,
	// keychain and transport are set per call.
	Options []remote.Option
	// Transport is the HTTP transport under the limits; default
	// remote.DefaultTransport.
	Transport http.RoundTripper
	// AuthCache, when set, keeps the registries' authentication
	// handshakes between resolutions; share the signature lister's
	// (oci.Options.AuthCache) so that a tag's resolution and the
	// verification of what it names make one handshake.
	AuthCache *oci.AuthCache
}

// Resolve implements Resolver.
func (r *RemoteResolver) Resolve(ctx context.Context, ref name.Tag, keychain authn.Keychain) (v1.Hash, error) {
	tr := oci.LimitTransport(r.Transport, nil)
	if r.AuthCache != nil {
		tr = r.AuthCache.Transport(tr)
	}
	opts := append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(keychain), remote.WithTransport(tr)}, r.Options...)
	desc, headErr := remote.Head(ref, opts...)
	if headErr == nil {
		return desc.Digest, nil
	}
	if ctx.Err() != nil {
		return v1.Hash{}, fmt.Errorf("resolve %s: %w", ref, headErr)
	}
	got, err := remote.Get(ref, opts...)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("resolve %s: %w", ref, errors.Join(headErr, err))
	}
	return got.Digest, nil
}

// maxParsedRefs bounds the references a refCache holds.
const maxParsedRefs = 10000

// refCache remembers what name.ParseReference made of the image
// references it parsed: a cluster admits the same images over and over,
// and parsing one cost a quarter of a warm admission. Parsing is a
// function of the string alone, so a remembered reference is the one
// parsing again gives. Only references that parse are kept, at most
// maxParsedRefs: when full, the cache is emptied. It is safe for
// concurrent use.
type refCache struct {
	mu   sync.Mutex
	refs map[string]name.Reference
}

// parse returns name.ParseReference(image).
func (c *refCache) parse(image string) (name.Reference, error) {
	c.mu.Lock()
	ref, ok := c.refs[image]
	c.mu.Unlock()
	if ok {
		return ref, nil
	}
	ref, err := name.ParseReference(image)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refs == nil || len(c.refs) >= maxParsedRefs {
		c.refs = make(map[string]name.Reference)
	}
	c.refs[image] = ref
	return ref, nil
}

// resolvedImage is an image reference pinned to a digest.
type resolvedImage struct {
	// Digest is the reference to verify: "<repository as written>@sha256:…".
	Digest name.Digest
	// Resolved is true when a tag was resolved (the object did not pin
	// the digest itself).
	Resolved bool
}

// requestResolver resolves each tag at most once per admission request,
// and at most once per TagTTL in a namespace when it has a cache; distinct
// tags concurrently. The pod's keychain is built only when a tag needs
// resolving.
type requestResolver struct {
	resolver Resolver
	keychain *lazyKeychain
	// cache, when set, holds recent resolutions in namespace.
	cache     *DecisionCache
	namespace string

	mu       sync.Mutex
	resolved map[string]*resolution
}

// resolution is one tag's resolution, done once for a request.
type resolution struct {
	done chan struct{}
	res  resolvedImage
	err  error
}

// resolve pins image to a digest. References that carry a digest are
// returned as they are.
func (r *requestResolver) resolve(ctx context.Context, image string) (resolvedImage, error) {
	ref, err := name.ParseReference(image)
	return r.resolveRef(ctx, image, ref, err)
}

// resolveRef is resolve for a reference the caller parsed already: ref
// and err are what name.ParseReference(image) returned.
func (r *requestResolver) resolveRef(ctx context.Context, image string, ref name.Reference, err error) (resolvedImage, error) {
	if err != nil {
		return resolvedImage{}, fmt.Errorf("parse image reference %q: %w", image, err)
	}
	if d, ok := ref.(name.Digest); ok {
		return resolvedImage{Digest: d}, nil
	}
	tag, ok := ref.(name.Tag)
	if !ok {
		return resolvedImage{}, fmt.Errorf("parse image reference %q: neither tag nor digest", image)
	}
	r.mu.Lock()
	if e, ok := r.resolved[image]; ok {
		r.mu.Unlock()
		select {
		case <-e.done:
			return e.res, e.err
		case <-ctx.Done():
			return resolvedImage{}, fmt.Errorf("resolve %s: %w", image, ctx.Err())
		}
	}
	if r.resolved == nil {
		r.resolved = map[string]*resolution{}
	}
	e := &resolution{done: make(chan struct{})}
	r.resolved[image] = e
	r.mu.Unlock()
	defer close(e.done)
	e.res, e.err = r.lookup(ctx, image, tag)
	return e.res, e.err
}

func (r *requestResolver) lookup(ctx context.Context, image string, tag name.Tag) (resolvedImage, error) {
	if r.cache != nil {
		if got, ok := r.cache.tag(r.namespace, image); ok {
			return got, nil
		}
	}
	kc, err := r.keychain.get()
	if err != nil {
		return resolvedImage{}, fmt.Errorf("registry credentials for %s: %w", image, err)
	}
	h, err := r.resolver.Resolve(ctx, tag, kc)
	if err != nil {
		return resolvedImage{}, err
	}
	res := resolvedImage{Digest: tag.Context().Digest(h.String()), Resolved: true}
	if r.cache != nil {
		r.cache.putTag(r.namespace, image, res)
	}
	return res, nil
}
