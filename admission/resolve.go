package admission

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Resolver resolves an image tag to the digest it points at now.
type Resolver interface {
	Resolve(ctx context.Context, ref name.Tag, keychain authn.Keychain) (v1.Hash, error)
}

// RemoteResolver resolves tags against their registries with
// go-containerregistry: a HEAD request for the manifest, then a GET when
// the registry does not answer HEAD with a digest.
type RemoteResolver struct {
	// Options are extra remote options (transport, user agent…); the
	// context and keychain are added per call.
	Options []remote.Option
}

// Resolve implements Resolver.
func (r *RemoteResolver) Resolve(ctx context.Context, ref name.Tag, keychain authn.Keychain) (v1.Hash, error) {
	opts := append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(keychain)}, r.Options...)
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

// resolvedImage is an image reference pinned to a digest.
type resolvedImage struct {
	// Digest is the reference to verify: "<repository as written>@sha256:…".
	Digest name.Digest
	// Resolved is true when a tag was resolved (the object did not pin
	// the digest itself).
	Resolved bool
}

// requestResolver resolves each tag at most once per admission request,
// and at most once per TagTTL in a namespace when it has a cache, and
// builds the pull-secret keychain only when a tag needs resolving.
type requestResolver struct {
	resolver Resolver
	keychain func(context.Context) (authn.Keychain, error)
	// cache, when set, holds recent resolutions in namespace.
	cache     *DecisionCache
	namespace string

	mu       sync.Mutex
	kc       authn.Keychain
	kcErr    error
	kcDone   bool
	resolved map[string]resolvedImage
	lookups  int // registry round trips, for tests
}

// resolve pins image to a digest. References that carry a digest are
// returned as they are.
func (r *requestResolver) resolve(ctx context.Context, image string) (resolvedImage, error) {
	ref, err := name.ParseReference(image)
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
	defer r.mu.Unlock()
	if got, ok := r.resolved[image]; ok {
		return got, nil
	}
	if r.cache != nil {
		if got, ok := r.cache.tag(r.namespace, image); ok {
			r.remember(image, got)
			return got, nil
		}
	}
	if !r.kcDone {
		r.kc, r.kcErr = r.keychain(ctx)
		r.kcDone = true
	}
	if r.kcErr != nil {
		return resolvedImage{}, fmt.Errorf("registry credentials for %s: %w", image, r.kcErr)
	}
	r.lookups++
	h, err := r.resolver.Resolve(ctx, tag, r.kc)
	if err != nil {
		return resolvedImage{}, err
	}
	d := tag.Context().Digest(h.String())
	res := resolvedImage{Digest: d, Resolved: true}
	r.remember(image, res)
	if r.cache != nil {
		r.cache.putTag(r.namespace, image, res)
	}
	return res, nil
}

// remember keeps a resolution for the rest of the request; r.mu is held.
func (r *requestResolver) remember(image string, res resolvedImage) {
	if r.resolved == nil {
		r.resolved = map[string]resolvedImage{}
	}
	r.resolved[image] = res
}
