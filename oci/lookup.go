package oci

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// Lookup changes how the Client reads and writes attachments for the
// operations run under one context: with whose registry credentials,
// and under which tags. An admission webhook sets it per admitted object
// (the pod's pull secrets, a policy's source.tagPrefix), as
// policy-controller passes cosign per-call remote options.
type Lookup struct {
	// Keychain supplies registry credentials before the Client's own
	// keychain: registries it has no credentials for (it resolves them
	// to authn.Anonymous) are accessed with the Client's, as
	// policy-controller adds its own keychain after a pod's pull secrets.
	// Nil means the Client's keychain only.
	Keychain authn.Keychain
	// TagPrefix goes in front of the tags derived from an image digest in
	// the legacy layout: "<prefix>sha256-<hex>.sig", ".att" and ".sbom",
	// as cosign's ociremote.WithPrefix does. The referrers fallback tag
	// "sha256-<hex>" is go-containerregistry's and takes no prefix, in
	// cosign as here.
	TagPrefix string
}

type lookupKey struct{}

// WithLookup returns a context under which the Client's operations
// follow l. Validate l first (ValidateTagPrefix); an invalid tag prefix
// fails the operations that build tags.
func WithLookup(ctx context.Context, l Lookup) context.Context {
	return context.WithValue(ctx, lookupKey{}, l)
}

// lookupFrom returns the context's Lookup, or the zero Lookup.
func lookupFrom(ctx context.Context) Lookup {
	l, _ := ctx.Value(lookupKey{}).(Lookup)
	return l
}

// keychainFor returns the credentials for ctx's operations.
func (c *Client) keychainFor(ctx context.Context) authn.Keychain {
	if l := lookupFrom(ctx); l.Keychain != nil {
		return authn.NewMultiKeychain(l.Keychain, c.keychain)
	}
	return c.keychain
}

// ValidateTagPrefix reports whether prefix can start a tag: the longest
// tag it makes, prefix + "sha256-<64 hex>.sbom", must be a valid tag (at
// most 128 letters, digits, '_', '.' and '-').
func ValidateTagPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	longest := fmt.Sprintf("%ssha256-%064d%s", prefix, 0, SuffixSBOM)
	if _, err := name.NewTag("example.com/x:"+longest, name.StrictValidation); err != nil {
		return fmt.Errorf("tag prefix %q: tags %q would be invalid: %w", prefix, prefix+"sha256-<hex>", err)
	}
	return nil
}
