package idtoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Environment variables and paths the ambient sources read, as cosign
// names them.
const (
	EnvIDToken              = "SIGSTORE_ID_TOKEN"
	EnvGitHubRequestURL     = "ACTIONS_ID_TOKEN_REQUEST_URL"
	EnvGitHubRequestToken   = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
	EnvSPIFFEEndpointSocket = "SPIFFE_ENDPOINT_SOCKET"
	DefaultTokenFile        = "/var/run/sigstore/cosign/oidc-token"
	DefaultSPIFFESocket     = "/tmp/spire-agent/public/api.sock"
	ambientHTTPTimeout      = 30 * time.Second
)

// AmbientOptions say where the ambient sources look.
type AmbientOptions struct {
	// LookupEnv reads environment variables; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// TokenFile is the projected token file (default DefaultTokenFile).
	TokenFile string
	// HTTPClient is used for the GitHub Actions token request; nil means
	// a client with a 30 s timeout.
	HTTPClient *http.Client
}

// Ambient returns the environment's token sources in cosign's order:
// GitHub Actions, SIGSTORE_ID_TOKEN, the token file (a Kubernetes projected
// service-account token), the SPIFFE Workload API.
func Ambient(o AmbientOptions) []Source {
	env := o.LookupEnv
	if env == nil {
		env = os.LookupEnv
	}
	get := func(k string) string { v, _ := env(k); return v }
	client := o.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: ambientHTTPTimeout}
	}
	file := o.TokenFile
	if file == "" {
		file = DefaultTokenFile
	}
	return []Source{
		&GitHubActions{RequestURL: get(EnvGitHubRequestURL), RequestToken: get(EnvGitHubRequestToken), Client: client},
		&EnvVar{Value: get(EnvIDToken)},
		&File{Path: file},
		&SPIFFE{Endpoint: get(EnvSPIFFEEndpointSocket)},
	}
}

// EnvVar is a token given in SIGSTORE_ID_TOKEN.
type EnvVar struct {
	Value string
}

// Name implements Source.
func (*EnvVar) Name() string { return "envvar" }

// Available implements Source.
func (e *EnvVar) Available() error {
	if strings.TrimSpace(e.Value) == "" {
		return errors.New(EnvIDToken + " is not set")
	}
	return nil
}

// Token implements Source; the audience is whatever the token was made for.
func (e *EnvVar) Token(context.Context, string) (string, error) {
	tok := strings.TrimSpace(e.Value)
	if len(tok) > MaxTokenSize {
		return "", fmt.Errorf("%s is larger than %d bytes", EnvIDToken, MaxTokenSize)
	}
	return tok, nil
}

// File is a token file kept fresh by its environment, typically a
// Kubernetes projected service-account token volume mounted with audience
// "sigstore" (cosign's "filesystem" provider).
type File struct {
	Path string
}

// Name implements Source.
func (*File) Name() string { return "filesystem" }

// Available implements Source.
func (f *File) Available() error {
	st, err := os.Stat(f.Path)
	if err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("token file %s is not a regular file", f.Path)
	}
	return nil
}

// Token implements Source; the audience is the one the volume projects.
func (f *File) Token(context.Context, string) (string, error) {
	tok, err := readTokenFile(f.Path)
	if err != nil {
		return "", fmt.Errorf("read token file: %w", err)
	}
	return tok, nil
}

// GitHubActions requests a token from the GitHub Actions OIDC endpoint of
// the running job (a job with `permissions: id-token: write`).
type GitHubActions struct {
	RequestURL   string // ACTIONS_ID_TOKEN_REQUEST_URL
	RequestToken string // ACTIONS_ID_TOKEN_REQUEST_TOKEN
	Client       *http.Client
	// RetryDelay separates the three attempts (default 1 s).
	RetryDelay time.Duration
}

// Name implements Source.
func (*GitHubActions) Name() string { return "github-actions" }

// Available implements Source.
func (g *GitHubActions) Available() error {
	if g.RequestURL == "" || g.RequestToken == "" {
		return errors.New(EnvGitHubRequestURL + " and " + EnvGitHubRequestToken + " are not both set (is the job granted id-token: write?)")
	}
	return nil
}

// Token implements Source. Like cosign it makes up to three attempts when
// the endpoint cannot be reached or answers with a server error.
func (g *GitHubActions) Token(ctx context.Context, audience string) (string, error) {
	u, err := url.Parse(g.RequestURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("%s is not an absolute URL", EnvGitHubRequestURL)
	}
	q := u.Query()
	q.Set("audience", audience)
	u.RawQuery = q.Encode()
	delay := g.RetryDelay
	if delay == 0 {
		delay = time.Second
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(delay):
			}
		}
		tok, retry, err := g.request(ctx, u.String())
		if err == nil {
			return tok, nil
		}
		lastErr = err
		if !retry {
			break
		}
	}
	return "", lastErr
}

func (g *GitHubActions) request(ctx context.Context, u string) (tok string, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", false, err
	}
	req.Header.Set("Authorization", "bearer "+g.RequestToken)
	req.Header.Set("Accept", "application/json; api-version=2.0")
	resp, err := g.Client.Do(req)
	if err != nil {
		return "", ctx.Err() == nil, fmt.Errorf("request token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxTokenSize+1))
	if err != nil {
		return "", true, fmt.Errorf("read token response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", resp.StatusCode >= 500, fmt.Errorf("token request: %s: %s", resp.Status, excerpt(body))
	}
	if len(body) > MaxTokenSize {
		return "", false, fmt.Errorf("token response is larger than %d bytes", MaxTokenSize)
	}
	var payload struct {
		Value string `json:"value"`
	}
	// The body holds the token: never quote it in an error.
	if err := json.Unmarshal(body, &payload); err != nil {
		return "", false, errors.New(`token response is not JSON with a "value"`)
	}
	if payload.Value == "" {
		return "", false, errors.New(`token response has an empty "value"`)
	}
	return payload.Value, false, nil
}

// excerpt shortens an error response body for a message.
func excerpt(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		s = "(empty body)"
	}
	return s
}
