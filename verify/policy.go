package verify

import (
	"crypto"
	"errors"
	"fmt"
	"io"
	"regexp"

	"github.com/signetproject/signet/trustroot"
)

// Artifact is what the bundle is expected to sign: the artifact bytes, its
// digest, or (unsafely) nothing. Exactly one of the fields must be set.
type Artifact struct {
	// Reader streams the artifact.
	Reader io.Reader
	// Digest is the artifact's digest under DigestAlgorithm.
	Digest          []byte
	DigestAlgorithm crypto.Hash
	// UnsafeSkip verifies the bundle without binding it to an artifact: a
	// DSSE signature is still checked over its payload, a message signature
	// only against its own digest.
	UnsafeSkip bool
}

func (a Artifact) validate() error {
	n := 0
	if a.Reader != nil {
		n++
	}
	if a.Digest != nil {
		n++
		switch a.DigestAlgorithm {
		case crypto.SHA256, crypto.SHA384, crypto.SHA512:
		default:
			return fmt.Errorf("unsupported artifact digest algorithm %v", a.DigestAlgorithm)
		}
	}
	if a.UnsafeSkip {
		n++
	}
	if n != 1 {
		return errors.New("artifact: set exactly one of Reader, Digest or UnsafeSkip")
	}
	return nil
}

// TrustedKey is a public key the caller trusts for key-signed bundles.
type TrustedKey struct {
	PublicKey crypto.PublicKey
	// ValidFor bounds the times at which signatures by the key are accepted.
	ValidFor trustroot.Window
}

// Policy says who must have signed. A certificate-signed bundle must match
// one of Identities (unless UnsafeSkipIdentity); a key-signed bundle needs
// Key and is rejected when identities are required.
type Policy struct {
	Identities         []Identity
	Key                *TrustedKey
	UnsafeSkipIdentity bool
}

// compiled checks p and returns a copy with its regular expressions
// compiled, leaving the caller's Policy untouched.
func (p Policy) compiled() (Policy, error) {
	if p.Key != nil && len(p.Identities) > 0 {
		return p, errors.New("policy: a key and certificate identities exclude each other")
	}
	if p.UnsafeSkipIdentity && len(p.Identities) > 0 {
		return p, errors.New("policy: UnsafeSkipIdentity with identities")
	}
	if p.Key == nil && !p.UnsafeSkipIdentity && len(p.Identities) == 0 {
		return p, errors.New("policy: need a key, an identity or UnsafeSkipIdentity")
	}
	p.Identities = append([]Identity(nil), p.Identities...)
	for i := range p.Identities {
		if err := p.Identities[i].compile(); err != nil {
			return p, fmt.Errorf("policy: identity %d: %w", i, err)
		}
	}
	return p, nil
}

// Identity matches a Fulcio certificate. SAN and Issuer are exact matches,
// SANRegexp and IssuerRegexp are Go regular expressions matched unanchored
// (anchor them with ^...$ yourself). At least one SAN and one issuer
// criterion are required. The GitHub fields, when set, must equal the
// certificate's GitHub workflow extensions (OIDs 1.3.6.1.4.1.57264.1.2–.6).
type Identity struct {
	SAN          string
	SANRegexp    string
	Issuer       string
	IssuerRegexp string

	GitHubWorkflowRepository string
	GitHubWorkflowRef        string
	GitHubWorkflowTrigger    string
	GitHubWorkflowSHA        string
	GitHubWorkflowName       string

	san, issuer *regexp.Regexp
}

func (id *Identity) compile() error {
	if id.SAN == "" && id.SANRegexp == "" {
		return errors.New("needs a SAN or SAN regexp")
	}
	if id.Issuer == "" && id.IssuerRegexp == "" {
		return errors.New("needs an issuer or issuer regexp")
	}
	var err error
	if id.SANRegexp != "" {
		if id.san, err = regexp.Compile(id.SANRegexp); err != nil {
			return fmt.Errorf("SAN regexp: %w", err)
		}
	}
	if id.IssuerRegexp != "" {
		if id.issuer, err = regexp.Compile(id.IssuerRegexp); err != nil {
			return fmt.Errorf("issuer regexp: %w", err)
		}
	}
	return nil
}

// matches reports why c does not match id, or nil when it does. id has
// been compiled.
func (id *Identity) matches(c *Certificate) error {
	if id.SAN != "" && c.SAN != id.SAN {
		return fmt.Errorf("SAN %q, want %q", c.SAN, id.SAN)
	}
	if id.san != nil && !id.san.MatchString(c.SAN) {
		return fmt.Errorf("SAN %q does not match %q", c.SAN, id.SANRegexp)
	}
	if id.Issuer != "" && c.Issuer != id.Issuer {
		return fmt.Errorf("issuer %q, want %q", c.Issuer, id.Issuer)
	}
	if id.issuer != nil && !id.issuer.MatchString(c.Issuer) {
		return fmt.Errorf("issuer %q does not match %q", c.Issuer, id.IssuerRegexp)
	}
	for _, f := range []struct{ name, want, got string }{
		{"GitHub workflow repository", id.GitHubWorkflowRepository, c.GitHubWorkflowRepository},
		{"GitHub workflow ref", id.GitHubWorkflowRef, c.GitHubWorkflowRef},
		{"GitHub workflow trigger", id.GitHubWorkflowTrigger, c.GitHubWorkflowTrigger},
		{"GitHub workflow SHA", id.GitHubWorkflowSHA, c.GitHubWorkflowSHA},
		{"GitHub workflow name", id.GitHubWorkflowName, c.GitHubWorkflowName},
	} {
		if f.want != "" && f.got != f.want {
			return fmt.Errorf("%s %q, want %q", f.name, f.got, f.want)
		}
	}
	return nil
}

// match returns the first identity c matches. The policy has been
// validated.
func (p Policy) match(c *Certificate) (*Identity, error) {
	if p.UnsafeSkipIdentity {
		return nil, nil
	}
	if len(p.Identities) == 0 {
		return nil, errors.New("certificate-signed bundle, but the policy expects a key")
	}
	var errs []error
	for i := range p.Identities {
		err := p.Identities[i].matches(c)
		if err == nil {
			id := p.Identities[i]
			id.san, id.issuer = nil, nil
			return &id, nil
		}
		errs = append(errs, fmt.Errorf("identity %d: %w", i, err))
	}
	return nil, fmt.Errorf("no identity matches: %w", errors.Join(errs...))
}
