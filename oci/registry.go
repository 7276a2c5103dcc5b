// Package oci stores and finds image signatures and attestations in OCI
// registries, in the two layouts cosign uses:
//
//   - the referrers layout (cosign v3's default): each Sigstore bundle is an
//     OCI 1.1 artifact manifest whose subject is the signed image, found
//     through the referrers API or, on registries without it, the fallback
//     tag index "sha256-<hex>";
//   - the legacy layout (cosign v2): simple-signing signatures as layers of
//     the image tagged "sha256-<hex>.sig", DSSE attestations as layers of
//     "sha256-<hex>.att", with certificates and timestamps in annotations.
//
// Reading turns every attachment into a Sigstore bundle so that
// verify.Verifier does all cryptographic checks; this package then binds
// the verified content (simple-signing payload or in-toto statement) to
// the image digest. Registry access goes through go-containerregistry's
// remote package.
package oci

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Client reads and writes signatures in registries. The zero value is not
// usable; build one with New. A Client is safe for concurrent use.
type Client struct {
	nameOpts  []name.Option
	keychain  authn.Keychain
	transport http.RoundTripper
	userAgent string
	auth      *AuthCache
	content   *contentCache // nil: none
	noRefs    *noReferrers
}

// Options configures a Client; the zero value talks HTTPS to registries
// with authn.DefaultKeychain's credentials.
type Options struct {
	// InsecureHTTP lets the client talk plain HTTP (and accept any TLS
	// certificate) to registries, for local and test registries. Without
	// it, only localhost-style registries may use HTTP, as
	// go-containerregistry decides.
	InsecureHTTP bool
	// Keychain replaces authn.DefaultKeychain (Docker config, credential
	// helpers) as the source of registry credentials.
	Keychain authn.Keychain
	// Transport is the HTTP transport, e.g. one that trusts a private CA.
	Transport http.RoundTripper
	// UserAgent is the User-Agent sent to registries.
	UserAgent string
	// AuthCache keeps registries' authentication handshakes (the ping
	// and bearer tokens, per credentials) between operations; share one
	// with the other registry clients of a process. Nil means one of the
	// Client's own.
	AuthCache *AuthCache
	// MaxCachedContent bounds the bytes of the signature manifests and
	// blobs (named by digest, checked against it) that listings keep for
	// later listings with the same credentials; default
	// DefaultMaxCachedContent, negative: none kept.
	MaxCachedContent int64
}

// New returns a Client configured by opts.
func New(opts Options) *Client {
	c := &Client{keychain: opts.Keychain, transport: opts.Transport, userAgent: opts.UserAgent, auth: opts.AuthCache, noRefs: newNoReferrers()}
	if c.auth == nil {
		c.auth, _ = NewAuthCache(AuthCacheOptions{}) // valid options
	}
	switch {
	case opts.MaxCachedContent == 0:
		c.content = newContentCache(DefaultMaxCachedContent)
	case opts.MaxCachedContent > 0:
		c.content = newContentCache(opts.MaxCachedContent)
	}
	if c.keychain == nil {
		c.keychain = authn.DefaultKeychain
	}
	if opts.InsecureHTTP {
		c.nameOpts = append(c.nameOpts, name.Insecure)
	}
	return c
}

// remote returns the go-containerregistry options of one operation,
// authenticating with kc: c.keychain, or c.keychainFor a Lookup. Every
// request is held to MaxManifestSize and MaxRedirects, and to the
// session's budget when s is not nil. Authentication handshakes go
// through the Client's AuthCache.
func (c *Client) remote(ctx context.Context, kc authn.Keychain, s *Session) []remote.Option {
	t := &noReferrersTransport{next: LimitTransport(c.transport, s), n: c.noRefs}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc), remote.WithTransport(c.auth.Transport(t))}
	if c.userAgent != "" {
		opts = append(opts, remote.WithUserAgent(c.userAgent))
	}
	return opts
}

// puller returns a go-containerregistry Puller, authenticating with kc
// and drawing on s's budget (nil: none), for the reads of one operation (a List, a Manifests walk). Each
// remote.Get, remote.Image… call builds a new authenticated transport,
// which costs a ping of the registry (GET /v2/) and, on registries with
// token auth, a token exchange; a Puller does that once per repository
// and reuses the transport for every later read, and the Client's
// AuthCache answers both from its memory when another operation made
// them recently with the same credentials.
//
// Pullers are not kept in the Client on purpose: a Puller sets up a
// repository's transport with the context of the first read that needs
// it (one admission's expired deadline would fail concurrent admissions
// of the same repository), keeps the credentials it resolved for as long
// as it lives (a long-running webhook would never re-read them), shares
// one limit on concurrent blob downloads among all its callers, and keeps
// a transport for every repository it has seen.
func (c *Client) puller(ctx context.Context, kc authn.Keychain, s *Session) (*remote.Puller, error) {
	p, err := remote.NewPuller(c.remote(ctx, kc, s)...)
	if err != nil {
		return nil, fmt.Errorf("registry client: %w", err)
	}
	return p, nil
}

// ParseReference parses an image reference with the client's name options.
func (c *Client) ParseReference(ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref, c.nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("parse image reference %q: %w", ref, err)
	}
	return r, nil
}

// Resolved is an image reference pinned to a manifest digest.
type Resolved struct {
	// Digest names the manifest in its repository.
	Digest name.Digest
	// Descriptor is the manifest's media type, size and digest.
	Descriptor v1.Descriptor
	// Tagged is true when the reference named a tag (or nothing, meaning
	// "latest"), so the digest was looked up and may differ tomorrow;
	// CLIs should warn and suggest signing by digest.
	Tagged bool
}

// Resolve looks ref up in its registry and returns the digest of the
// manifest it names. A digest reference is checked to exist.
func (c *Client) Resolve(ctx context.Context, ref string) (*Resolved, error) {
	r, err := c.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	return c.ResolveReference(ctx, r)
}

// ResolveReference is Resolve for a parsed reference.
func (c *Client) ResolveReference(ctx context.Context, r name.Reference) (*Resolved, error) {
	desc, err := remote.Head(r, c.remote(ctx, c.keychain, nil)...)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", r, classify(err))
	}
	d, isDigest := r.(name.Digest)
	if isDigest {
		if desc.Digest.String() != d.DigestStr() {
			return nil, fmt.Errorf("resolve %s: registry returned digest %s", r, desc.Digest)
		}
	} else {
		d = r.Context().Digest(desc.Digest.String())
	}
	if desc.Digest.Algorithm != "sha256" {
		return nil, fmt.Errorf("resolve %s: unsupported digest algorithm %q", r, desc.Digest.Algorithm)
	}
	return &Resolved{Digest: d, Descriptor: *desc, Tagged: !isDigest}, nil
}

// Errors registry requests are classified as, so that callers can branch
// with errors.Is and users read why in one line rather than
// go-containerregistry's full request trace.
var (
	// ErrNotFound is wrapped by errors for attachments or images that do
	// not exist in the registry.
	ErrNotFound = errors.New("not found")
	// ErrUnreachable: no connection to the registry (refused, DNS, timeout).
	ErrUnreachable = errors.New("registry unreachable")
	// ErrUnauthorized: the registry wants credentials, refused the ones
	// sent (401) or denied access with them (403).
	ErrUnauthorized = errors.New("registry authentication failed")
)

// classify shortens a go-containerregistry error to what went wrong,
// wrapping ErrUnreachable, ErrUnauthorized or ErrNotFound when it is one
// of those (the original error stays in the chain).
func classify(err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) {
		status := fmt.Sprintf("%d %s", terr.StatusCode, http.StatusText(terr.StatusCode))
		if len(terr.Errors) > 0 {
			status += ": " + string(terr.Errors[0].Code) + " " + terr.Errors[0].Message
		}
		host := ""
		if terr.Request != nil {
			host = terr.Request.URL.Host
		}
		switch terr.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return &classified{fmt.Errorf("%w (%s); check the credentials for %s (the CLI reads the Docker config: docker login %[3]s; the admission webhook the pod's imagePullSecrets)", ErrUnauthorized, status, host), err}
		case http.StatusNotFound:
			return &classified{fmt.Errorf("%w (%s)", ErrNotFound, status), err}
		}
		return err
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return &classified{fmt.Errorf("%w: %v", ErrUnreachable, op), err}
	}
	return err
}

// IsUnavailable reports whether err says the registry could not be read
// (no connection, a server error or throttling, a deadline) rather than
// anything about what it holds: asking again later may succeed. Errors
// wrapping ErrLimit, ErrNotFound or ErrUnauthorized are not.
func IsUnavailable(err error) bool {
	switch {
	case err == nil, errors.Is(err, ErrLimit), errors.Is(err, ErrNotFound), errors.Is(err, ErrUnauthorized):
		return false
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled), errors.Is(err, ErrUnreachable):
		return true
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		return terr.StatusCode >= 500 || terr.StatusCode == http.StatusTooManyRequests
	}
	var op *net.OpError
	return errors.As(err, &op)
}

// classified is a short message in front of the original error.
type classified struct {
	msg  error // wraps the sentinel
	orig error
}

func (c *classified) Error() string   { return c.msg.Error() }
func (c *classified) Unwrap() []error { return []error{c.msg, c.orig} }

// isNotFound reports whether err is a registry 404 (or the registries'
// MANIFEST_UNKNOWN / NAME_UNKNOWN equivalents).
func isNotFound(err error) bool {
	var terr *transport.Error
	if errors.As(err, &terr) {
		return terr.StatusCode == http.StatusNotFound
	}
	return false
}

// digestTag is the tag cosign derives from an image digest: prefix (a
// Lookup's TagPrefix, "" for cosign's default tags), "sha256-<hex>", then
// suffix (".sig", ".att", ".sbom").
func digestTag(d name.Digest, prefix, suffix string) (name.Tag, error) {
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		return name.Tag{}, fmt.Errorf("image digest %q: %w", d.DigestStr(), err)
	}
	if err := ValidateTagPrefix(prefix); err != nil {
		return name.Tag{}, err
	}
	return d.Context().Tag(prefix + h.Algorithm + "-" + h.Hex + suffix), nil
}
