// Package idtoken obtains the OpenID Connect identity token a keyless
// signature is made for, from the places cosign looks, in cosign's order:
// an explicit token (flag value or file), then the ambient credentials of
// the environment the signer runs in — GitHub Actions, the SIGSTORE_ID_TOKEN
// variable, a Kubernetes projected service-account token file, a SPIFFE
// Workload API — and last an interactive login of a person (authorization
// code with PKCE through a loopback redirect, or the device authorization
// grant).
//
// The package never prints or logs a token; errors name where a token was
// sought, never its value.
package idtoken

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// Audience is the audience Sigstore clients request ambient tokens for.
const Audience = "sigstore"

// MaxTokenSize bounds a token read from a file, variable or response.
const MaxTokenSize = 64 << 10

// Source is one place an identity token can come from.
type Source interface {
	// Name is the source's --oidc-provider name.
	Name() string
	// Available returns nil when this environment offers the source, or an
	// error saying what is missing.
	Available() error
	// Token returns an identity token for the audience.
	Token(ctx context.Context, audience string) (string, error)
}

// Chain picks the token source the way cosign does.
type Chain struct {
	// Explicit is the --identity-token value: a token, or a path to a file
	// holding one. When set it wins over every source.
	Explicit string
	// Provider, when set, names the one source to use (--oidc-provider):
	// one of Ambient's names, or the Interactive source's.
	Provider string
	// Ambient are the environment's sources, tried in order; the first
	// available one that gives a token wins.
	Ambient []Source
	// Interactive is used when no ambient source is available; nil when
	// there is no way to log in.
	Interactive Source
	// Audience is requested from ambient sources; default Audience.
	Audience string
}

// ErrNoToken means no source could offer a token.
var ErrNoToken = errors.New("no identity token")

// Token returns a token and the name of the source it came from.
func (c Chain) Token(ctx context.Context) (token, source string, err error) {
	aud := c.Audience
	if aud == "" {
		aud = Audience
	}
	if c.Explicit != "" {
		tok, err := Explicit(c.Explicit)
		return tok, "--identity-token", err
	}
	if c.Provider != "" {
		s, err := c.named(c.Provider)
		if err != nil {
			return "", "", err
		}
		if err := s.Available(); err != nil {
			return "", "", fmt.Errorf("--oidc-provider %s: %w", s.Name(), err)
		}
		tok, err := s.Token(ctx, aud)
		if err != nil {
			return "", "", fmt.Errorf("%s: %w", s.Name(), err)
		}
		return tok, s.Name(), nil
	}
	var errs []error
	for _, s := range c.Ambient {
		if s.Available() != nil {
			continue
		}
		tok, err := s.Token(ctx, aud)
		if err == nil {
			return tok, s.Name(), nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", s.Name(), err))
	}
	if len(errs) > 0 {
		// As cosign: an ambient source that is present but fails is an
		// error, not a reason to start an interactive login.
		return "", "", fmt.Errorf("ambient credentials: %w", errors.Join(errs...))
	}
	if c.Interactive != nil {
		if err := c.Interactive.Available(); err != nil {
			return "", "", fmt.Errorf("%w: no ambient credentials, and no login possible: %v", ErrNoToken, err)
		}
		tok, err := c.Interactive.Token(ctx, aud)
		if err != nil {
			return "", "", fmt.Errorf("%s: %w", c.Interactive.Name(), err)
		}
		return tok, c.Interactive.Name(), nil
	}
	return "", "", fmt.Errorf("%w: pass --identity-token, set SIGSTORE_ID_TOKEN, run where ambient credentials exist (%s), or name an issuer to log in with --oidc-issuer",
		ErrNoToken, strings.Join(c.names(), ", "))
}

func (c Chain) named(name string) (Source, error) {
	for _, s := range c.Ambient {
		if s.Name() == name {
			return s, nil
		}
	}
	if c.Interactive != nil && c.Interactive.Name() == name {
		return c.Interactive, nil
	}
	return nil, fmt.Errorf("--oidc-provider %q: unknown provider (want one of %s)", name, strings.Join(c.names(), ", "))
}

func (c Chain) names() []string {
	var out []string
	for _, s := range c.Ambient {
		out = append(out, s.Name())
	}
	if c.Interactive != nil {
		out = append(out, c.Interactive.Name())
	}
	return out
}

// Explicit resolves an --identity-token value: a JWT is the token itself;
// anything else is read as the path of a file holding one (surrounding
// whitespace trimmed). Errors never repeat the value, which may be a
// malformed token.
func Explicit(v string) (string, error) {
	if looksLikeJWT(v) {
		return v, nil
	}
	tok, err := readTokenFile(v)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is the value, which may be a token
		}
		return "", fmt.Errorf("--identity-token is neither a JWT nor a file holding one: %w", err)
	}
	return tok, nil
}

// looksLikeJWT reports whether s has the shape of a compact JWS: three
// non-empty base64url segments.
func looksLikeJWT(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=") != "" {
			return false
		}
	}
	return true
}

// readTokenFile reads a token file of at most MaxTokenSize bytes.
func readTokenFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxTokenSize+1))
	if err != nil {
		return "", err
	}
	if len(data) > MaxTokenSize {
		return "", fmt.Errorf("token file is larger than %d bytes", MaxTokenSize)
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return "", errors.New("token file is empty")
	}
	return tok, nil
}
