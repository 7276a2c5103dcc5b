package oci

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// Lookup says how ListKind reads the attachments of one image: with
// whose registry credentials, and under which tags. An admission webhook
// passes one per admitted object (the pod's pull secrets, a policy's
// source.tagPrefix), as policy-controller passes cosign per-call remote
// options. The zero Lookup reads with the Client's keychain under
// cosign's default tags, as List does.
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
	// cosign as here. Validate it first (ValidateTagPrefix); an invalid
	// prefix fails the listing.
	TagPrefix string
	// Session, when set, is the decision this listing serves: its budget
	// bounds the listing's reads, and what another listing of the session
	// already read is not read again. Nil means a session of its own with
	// the default limits.
	Session *Session
}

// keychainFor returns the credentials for reads that follow l.
func (c *Client) keychainFor(l Lookup) authn.Keychain {
	if l.Keychain != nil {
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
