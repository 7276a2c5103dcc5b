package oidc

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
)

// Errors callers branch on. Every error Verify returns wraps one of them.
var (
	// ErrInvalidToken: the token is malformed, from an unknown issuer, badly
	// signed, expired or for another audience.
	ErrInvalidToken = errors.New("invalid identity token")
	// ErrIdentityNotAllowed: the token is genuine but its claims do not
	// make an identity this server certifies.
	ErrIdentityNotAllowed = errors.New("identity not allowed")
	// ErrIssuerUnavailable: the issuer's discovery document or keys could
	// not be fetched; the token may be fine.
	ErrIssuerUnavailable = errors.New("issuer unavailable")
)

// MaxTokenSize bounds the ID tokens Verify accepts.
const MaxTokenSize = 64 << 10

var signingAlgs = []string{
	gooidc.RS256, gooidc.RS384, gooidc.RS512, gooidc.ES256, gooidc.ES384, gooidc.ES512,
	gooidc.PS256, gooidc.PS384, gooidc.PS512, gooidc.EdDSA,
}

// Verifier checks ID tokens against a fixed set of issuers. Remote issuers
// are discovered on their first token; a slow or failing issuer delays only
// its own tokens, each no longer than its caller's context allows (see
// FailureCacheTime and KeyRefetchInterval). Close it when done.
type Verifier struct {
	issuers map[string]*issuer
	meta    metaIssuers
	client  *http.Client
	now     func() time.Time
	base    context.Context // ends at Close
	stop    context.CancelFunc
	flights sync.WaitGroup // discoveries and key fetches in progress
}

type issuer struct {
	cfg    IssuerConfig
	static *gooidc.IDTokenVerifier // for an issuer with known keys
	remote *remote                 // for an issuer to discover; nil if static
}

// VerifierOptions configures a Verifier; the zero value fetches with a
// client that times out and checks expiry by time.Now.
type VerifierOptions struct {
	// HTTPClient is the client used for discovery and key fetches.
	HTTPClient *http.Client
	// Now is the clock used for expiry checks.
	Now func() time.Time
}

// NewVerifier returns a Verifier for the given issuers. Remote issuers are
// discovered lazily on their first token, so one unreachable issuer does not
// stop the others from working.
func NewVerifier(cfgs []IssuerConfig, opts VerifierOptions) (*Verifier, error) {
	v := &Verifier{
		issuers: map[string]*issuer{},
		client:  &http.Client{Timeout: fetchTimeout},
		now:     time.Now,
	}
	v.base, v.stop = context.WithCancel(context.Background())
	if opts.HTTPClient != nil {
		v.client = opts.HTTPClient
	}
	if opts.Now != nil {
		v.now = opts.Now
	}
	client, err := withIssuerCAs(v.client, cfgs)
	if err != nil {
		return nil, err
	}
	v.client = client
	for _, c := range cfgs {
		if err := v.add(c, nil); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// AddStaticIssuer trusts an issuer whose signing keys are known up front,
// such as the built-in development issuer; no network access is needed.
func (v *Verifier) AddStaticIssuer(cfg IssuerConfig, keys ...crypto.PublicKey) error {
	ks := &gooidc.StaticKeySet{PublicKeys: keys}
	return v.add(cfg, gooidc.NewVerifier(cfg.URL, ks, v.config(cfg)))
}

func (v *Verifier) add(cfg IssuerConfig, verifier *gooidc.IDTokenVerifier) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.IsMeta() && verifier == nil {
		return v.meta.add(cfg)
	}
	if _, dup := v.issuers[cfg.URL]; dup {
		return fmt.Errorf("issuer %s is configured twice", cfg.URL)
	}
	is := &issuer{cfg: cfg, static: verifier}
	if verifier == nil {
		is.remote = &remote{}
	}
	v.issuers[cfg.URL] = is
	return nil
}

func (v *Verifier) config(cfg IssuerConfig) *gooidc.Config {
	return &gooidc.Config{ClientID: cfg.audience(), SupportedSigningAlgs: signingAlgs, Now: v.now}
}

// Issuers returns the configured issuers, meta issuers included, sorted by
// URL.
func (v *Verifier) Issuers() []IssuerConfig {
	out := make([]IssuerConfig, 0, len(v.issuers))
	for _, is := range v.issuers {
		out = append(out, is.cfg)
	}
	for _, m := range v.meta.patterns {
		out = append(out, m.cfg)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URL < out[j].URL })
	return out
}

// Verify checks the token's signature, issuer, audience and expiry and maps
// its claims to an Identity. The returned issuer config says which issuer
// vouched for it.
func (v *Verifier) Verify(ctx context.Context, raw string) (Identity, IssuerConfig, error) {
	if len(raw) > MaxTokenSize {
		return Identity{}, IssuerConfig{}, fmt.Errorf("%w: token larger than %d bytes", ErrInvalidToken, MaxTokenSize)
	}
	iss, err := UnverifiedIssuer(raw)
	if err != nil {
		return Identity{}, IssuerConfig{}, err
	}
	is, ok := v.lookup(iss)
	if !ok {
		return Identity{}, IssuerConfig{}, fmt.Errorf("%w: unknown issuer %q", ErrInvalidToken, iss)
	}
	verifier, err := v.verifierFor(ctx, is)
	if err != nil {
		return Identity{}, is.cfg, err
	}
	tok, err := verifier.Verify(gooidc.ClientContext(ctx, v.client), raw)
	if err != nil {
		return Identity{}, is.cfg, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	var claims Claims
	if err := tok.Claims(&claims); err != nil {
		return Identity{}, is.cfg, fmt.Errorf("%w: claims: %v", ErrInvalidToken, err)
	}
	// go-oidc checked tok.Issuer, which encoding/json may have read from a
	// key such as "ISS"; the certificate must state that checked issuer.
	claims["iss"] = tok.Issuer
	id, err := MapIdentity(is.cfg, claims)
	return id, is.cfg, err
}

func (v *Verifier) verifierFor(ctx context.Context, is *issuer) (*gooidc.IDTokenVerifier, error) {
	if is.static != nil {
		return is.static, nil
	}
	return v.discover(ctx, is, 0)
}

// UnverifiedIssuer returns the iss claim of a JWT without checking anything
// else; use it only to choose which issuer verifies the token.
func UnverifiedIssuer(raw string) (string, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("%w: not a JWT (want 3 dot-separated parts, got %d)", ErrInvalidToken, len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", fmt.Errorf("%w: payload is not base64url: %v", ErrInvalidToken, err)
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", fmt.Errorf("%w: payload is not a JSON object: %v", ErrInvalidToken, err)
	}
	if c.Issuer == "" {
		return "", fmt.Errorf("%w: no iss claim", ErrInvalidToken)
	}
	return c.Issuer, nil
}
