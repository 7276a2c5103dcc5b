package idtoken

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// DefaultClientID is the OAuth client ID Sigstore clients log in as.
const DefaultClientID = "sigstore"

// DefaultLoginTimeout bounds an interactive login.
const DefaultLoginTimeout = 5 * time.Minute

// Login gets a person's identity token from an OpenID provider: the
// authorization code flow with PKCE, receiving the code on a loopback
// redirect (RFC 8252), or with Device the device authorization grant
// (RFC 8628) for sessions without a browser. Either way the ID token is
// verified against the provider's keys, for this client, before use.
type Login struct {
	// Issuer is the provider's issuer URL (discovery is at
	// Issuer/.well-known/openid-configuration).
	Issuer string
	// ClientID defaults to DefaultClientID; ClientSecret is empty for
	// public clients.
	ClientID, ClientSecret string
	// RedirectURL is the loopback redirect; default
	// http://localhost:0/auth/callback (port 0: any free port), as cosign.
	RedirectURL string
	// Device selects the device authorization grant.
	Device bool
	// Prompt receives the messages for the person (the URL to open, the
	// device code); never a token.
	Prompt io.Writer
	// OpenBrowser opens a URL in the person's browser; nil, or an error,
	// leaves it to the person to open the printed URL.
	OpenBrowser func(url string) error
	// HTTPClient talks to the provider; nil means a 30 s timeout client.
	HTTPClient *http.Client
	// Timeout bounds the whole login (default DefaultLoginTimeout).
	Timeout time.Duration
}

// Name implements Source.
func (*Login) Name() string { return "interactive" }

// Available implements Source.
func (l *Login) Available() error {
	if l.Issuer == "" {
		return errors.New("no OIDC issuer to log in with (--oidc-issuer, or oidcUrls in the signing config)")
	}
	return nil
}

// Token implements Source. The token's audience is the client ID, as
// OpenID Connect defines; the audience argument is not used.
func (l *Login) Token(ctx context.Context, _ string) (string, error) {
	timeout := l.Timeout
	if timeout == 0 {
		timeout = DefaultLoginTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := l.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	ctx = gooidc.ClientContext(ctx, client)
	p, err := gooidc.NewProvider(ctx, l.Issuer)
	if err != nil {
		return "", fmt.Errorf("discover issuer %s: %w", l.Issuer, err)
	}
	clientID := l.ClientID
	if clientID == "" {
		clientID = DefaultClientID
	}
	cfg := oauth2.Config{
		ClientID: clientID, ClientSecret: l.ClientSecret,
		Endpoint: p.Endpoint(), Scopes: []string{gooidc.ScopeOpenID, "email"},
	}
	var (
		tok   *oauth2.Token
		nonce string
	)
	if l.Device {
		tok, err = l.device(ctx, cfg)
	} else {
		tok, nonce, err = l.authCode(ctx, p, cfg)
	}
	if err != nil {
		return "", err
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return "", fmt.Errorf("issuer %s returned no ID token (was the openid scope granted?)", l.Issuer)
	}
	id, err := p.VerifierContext(ctx, &gooidc.Config{ClientID: clientID}).Verify(ctx, raw)
	if err != nil {
		return "", fmt.Errorf("ID token from %s: %w", l.Issuer, err)
	}
	if !l.Device && id.Nonce != nonce {
		return "", errors.New("ID token nonce does not match the one this login sent: the token was not issued for this login")
	}
	if id.AccessTokenHash != "" {
		if err := id.VerifyAccessToken(tok.AccessToken); err != nil {
			return "", fmt.Errorf("ID token from %s: %w", l.Issuer, err)
		}
	}
	return raw, nil
}

// authCode runs the authorization code flow with PKCE (S256), state and
// nonce, and exchanges the code it receives on the loopback redirect.
func (l *Login) authCode(ctx context.Context, p *gooidc.Provider, cfg oauth2.Config) (*oauth2.Token, string, error) {
	var meta struct {
		Methods []string `json:"code_challenge_methods_supported"`
	}
	if err := p.Claims(&meta); err != nil {
		return nil, "", fmt.Errorf("issuer %s metadata: %w", l.Issuer, err)
	}
	if !slices.Contains(meta.Methods, "S256") {
		return nil, "", fmt.Errorf("issuer %s does not support PKCE with S256 (code_challenge_methods_supported: %q), which signet requires for logins", l.Issuer, meta.Methods)
	}
	state, nonce := randomString(), randomString()
	verifier := oauth2.GenerateVerifier()
	rcv, err := listenLoopback(l.RedirectURL, state)
	if err != nil {
		return nil, "", err
	}
	defer rcv.close()
	cfg.RedirectURL = rcv.redirectURL
	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce), oauth2.AccessTypeOnline)
	l.say("Log in to %s in your browser at:\n\n  %s\n\n", l.Issuer, authURL)
	if l.OpenBrowser != nil {
		if err := l.OpenBrowser(authURL); err != nil {
			l.say("(could not open a browser: %v; open the URL above yourself, or use --oidc-device-flow)\n", err)
		}
	}
	code, err := rcv.wait(ctx)
	if err != nil {
		return nil, "", err
	}
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, "", fmt.Errorf("%s refused the authorization code: %w", l.Issuer, describe(err))
	}
	return tok, nonce, nil
}

// device runs the device authorization grant: print the code, poll.
func (l *Login) device(ctx context.Context, cfg oauth2.Config) (*oauth2.Token, error) {
	if cfg.Endpoint.DeviceAuthURL == "" {
		return nil, fmt.Errorf("issuer %s does not offer the device authorization grant (no device_authorization_endpoint)", l.Issuer)
	}
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s refused the device authorization request: %w", l.Issuer, describe(err))
	}
	l.say("To log in, open %s and enter the code %s\n", da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		l.say("(or open %s)\n", da.VerificationURIComplete)
	}
	tok, err := cfg.DeviceAccessToken(ctx, da)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, errors.New("device login timed out before it was approved")
		}
		return nil, fmt.Errorf("device login at %s: %w", l.Issuer, describe(err))
	}
	return tok, nil
}

func (l *Login) say(format string, args ...any) {
	if l.Prompt != nil {
		fmt.Fprintf(l.Prompt, format, args...)
	}
}

// describe turns an OAuth error response into "code: description"; other
// errors pass through. The response body is not quoted (it could echo
// credentials).
func describe(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return err
	}
	msg := re.ErrorCode
	if msg == "" && re.Response != nil {
		msg = re.Response.Status
	}
	if re.ErrorDescription != "" {
		msg += ": " + re.ErrorDescription
	}
	return errors.New(msg)
}

// randomString returns 32 random bytes, base64url: a state or nonce.
func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
