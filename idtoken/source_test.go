package idtoken_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signetproject/signet/idtoken"
	"github.com/signetproject/signet/internal/spiffetest"
)

// A JWT-shaped value (the sources do not verify tokens).
const (
	jwtA = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnQQ"
	jwtB = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJiIn0.c2lnQg"
	jwtC = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJjIn0.c2lnQw"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// githubServer speaks the Actions token request protocol: GET
// <request URL>&audience=…, Authorization: bearer <request token>,
// answering {"value": token}.
func githubServer(t *testing.T, token string, fail *atomic.Int32) (url, requestToken string, calls *atomic.Int32) {
	t.Helper()
	calls = &atomic.Int32{}
	const reqTok = "actions-request-token"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if fail != nil && fail.Load() > 0 {
			fail.Add(-1)
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("Authorization") != "bearer "+reqTok {
			http.Error(w, `{"message":"bad credentials"}`, http.StatusUnauthorized)
			return
		}
		if r.URL.Query().Get("api-version") != "2.0" {
			http.Error(w, "the request URL's own query was lost", http.StatusBadRequest)
			return
		}
		if aud := r.URL.Query().Get("audience"); aud != "sigstore" {
			http.Error(w, "audience "+aud, http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte(`{"count":1,"value":"` + token + `"}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/_apis/token?api-version=2.0", reqTok, calls
}

func TestChainOrder(t *testing.T) {
	ghURL, ghTok, _ := githubServer(t, jwtA, nil)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "oidc-token")
	if err := os.WriteFile(tokenFile, []byte(jwtC+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	explicitFile := filepath.Join(dir, "explicit")
	if err := os.WriteFile(explicitFile, []byte("  "+jwtB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	github := map[string]string{idtoken.EnvGitHubRequestURL: ghURL, idtoken.EnvGitHubRequestToken: ghTok}
	tests := []struct {
		name       string
		chain      idtoken.Chain
		env        map[string]string
		tokenFile  string
		wantToken  string
		wantSource string
	}{
		{"flag token wins", idtoken.Chain{Explicit: jwtB}, merge(github, map[string]string{"SIGSTORE_ID_TOKEN": jwtC}), tokenFile, jwtB, "--identity-token"},
		{"flag file", idtoken.Chain{Explicit: explicitFile}, github, tokenFile, jwtB, "--identity-token"},
		{"github actions before env", idtoken.Chain{}, merge(github, map[string]string{"SIGSTORE_ID_TOKEN": jwtB}), tokenFile, jwtA, "github-actions"},
		{"failing source falls to the next, as cosign", idtoken.Chain{}, map[string]string{idtoken.EnvGitHubRequestURL: "http://127.0.0.1:1/t", idtoken.EnvGitHubRequestToken: "t", "SIGSTORE_ID_TOKEN": jwtB}, tokenFile, jwtB, "envvar"},
		{"env before file", idtoken.Chain{}, map[string]string{"SIGSTORE_ID_TOKEN": jwtB}, tokenFile, jwtB, "envvar"},
		{"projected token file", idtoken.Chain{}, nil, tokenFile, jwtC, "filesystem"},
		{"provider selects", idtoken.Chain{Provider: "filesystem"}, merge(github, map[string]string{"SIGSTORE_ID_TOKEN": jwtB}), tokenFile, jwtC, "filesystem"},
		{"interactive last", idtoken.Chain{Interactive: staticSource{"interactive", jwtB}}, nil, filepath.Join(dir, "absent"), jwtB, "interactive"},
		{"provider selects interactive", idtoken.Chain{Provider: "interactive", Interactive: staticSource{"interactive", jwtB}}, map[string]string{"SIGSTORE_ID_TOKEN": jwtA}, tokenFile, jwtB, "interactive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.chain
			c.Ambient = idtoken.Ambient(idtoken.AmbientOptions{LookupEnv: envOf(tt.env), TokenFile: tt.tokenFile})
			for _, s := range c.Ambient {
				if gh, ok := s.(*idtoken.GitHubActions); ok {
					gh.RetryDelay = time.Millisecond
				}
			}
			tok, src, err := c.Token(context.Background())
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if tok != tt.wantToken || src != tt.wantSource {
				t.Errorf("Token = %q from %s, want %q from %s", tok, src, tt.wantToken, tt.wantSource)
			}
		})
	}
}

func TestChainErrors(t *testing.T) {
	dir := t.TempDir()
	absent := filepath.Join(dir, "absent")
	badGH := map[string]string{idtoken.EnvGitHubRequestURL: "http://127.0.0.1:1/token?x=1", idtoken.EnvGitHubRequestToken: "t"}
	tests := []struct {
		name  string
		chain idtoken.Chain
		env   map[string]string
		want  string
		is    error
	}{
		{"nothing at all", idtoken.Chain{}, nil, "pass --identity-token, set SIGSTORE_ID_TOKEN", idtoken.ErrNoToken},
		{"unknown provider", idtoken.Chain{Provider: "google"}, nil, `"google": unknown provider (want one of github-actions, envvar, filesystem, spiffe)`, nil},
		{"provider unavailable", idtoken.Chain{Provider: "github-actions"}, map[string]string{"SIGSTORE_ID_TOKEN": jwtA}, "--oidc-provider github-actions: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not both set", nil},
		{"failing ambient source does not fall through to a login", idtoken.Chain{Interactive: staticSource{"interactive", jwtB}}, badGH, "", nil},
		{"login impossible", idtoken.Chain{Interactive: &idtoken.Login{}}, nil, "no OIDC issuer to log in with", idtoken.ErrNoToken},
		{"malformed flag value", idtoken.Chain{Explicit: "eyJhbGciOiJFUzI1NiJ9.not a token"}, nil, "--identity-token is neither a JWT nor a file holding one: no such file or directory", nil},
		{"empty flag file", idtoken.Chain{Explicit: emptyFile(t)}, nil, "token file is empty", nil},
		{"oversize flag file", idtoken.Chain{Explicit: bigFile(t)}, nil, "larger than 65536 bytes", nil},
		{"oversize SIGSTORE_ID_TOKEN", idtoken.Chain{}, map[string]string{"SIGSTORE_ID_TOKEN": strings.Repeat("a", idtoken.MaxTokenSize+1)}, "envvar: SIGSTORE_ID_TOKEN is larger than", nil},
		{"token file is a directory", idtoken.Chain{Provider: "filesystem"}, nil, "is not a regular file", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.chain
			tokenFile := absent
			if tt.name == "token file is a directory" {
				tokenFile = dir
			}
			c.Ambient = idtoken.Ambient(idtoken.AmbientOptions{LookupEnv: envOf(tt.env), TokenFile: tokenFile,
				HTTPClient: &http.Client{Timeout: time.Second}})
			for _, s := range c.Ambient {
				if gh, ok := s.(*idtoken.GitHubActions); ok {
					gh.RetryDelay = time.Millisecond
				}
			}
			tok, src, err := c.Token(context.Background())
			if err == nil {
				t.Fatalf("Token = %q from %s, want an error", tok, src)
			}
			if tt.want == "" {
				tt.want = "ambient credentials: github-actions: request token"
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if strings.Contains(err.Error(), "not a token") {
				t.Errorf("error %q repeats the flag value", err)
			}
		})
	}
}

func TestGitHubActions(t *testing.T) {
	t.Run("retries server errors", func(t *testing.T) {
		var fail atomic.Int32
		fail.Store(2)
		u, reqTok, calls := githubServer(t, jwtA, &fail)
		g := &idtoken.GitHubActions{RequestURL: u, RequestToken: reqTok, Client: http.DefaultClient, RetryDelay: time.Millisecond}
		tok, err := g.Token(context.Background(), "sigstore")
		if err != nil || tok != jwtA {
			t.Fatalf("Token = %q, %v", tok, err)
		}
		if calls.Load() != 3 {
			t.Errorf("%d requests, want 3", calls.Load())
		}
	})
	t.Run("gives up after three", func(t *testing.T) {
		var fail atomic.Int32
		fail.Store(5)
		u, reqTok, calls := githubServer(t, jwtA, &fail)
		g := &idtoken.GitHubActions{RequestURL: u, RequestToken: reqTok, Client: http.DefaultClient, RetryDelay: time.Millisecond}
		if _, err := g.Token(context.Background(), "sigstore"); err == nil || !strings.Contains(err.Error(), "503") {
			t.Errorf("Token error = %v, want the 503", err)
		}
		if calls.Load() != 3 {
			t.Errorf("%d requests, want 3", calls.Load())
		}
	})
	t.Run("does not retry a refusal", func(t *testing.T) {
		u, _, calls := githubServer(t, jwtA, nil)
		g := &idtoken.GitHubActions{RequestURL: u, RequestToken: "wrong", Client: http.DefaultClient, RetryDelay: time.Millisecond}
		if _, err := g.Token(context.Background(), "sigstore"); err == nil || !strings.Contains(err.Error(), "401 Unauthorized: {\"message\":\"bad credentials\"}") {
			t.Errorf("Token error = %v, want the 401 and its message", err)
		}
		if calls.Load() != 1 {
			t.Errorf("%d requests, want 1", calls.Load())
		}
	})
	t.Run("never quotes a body that is not an error", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"value": ` + jwtA)) // truncated JSON holding a token
		}))
		defer srv.Close()
		g := &idtoken.GitHubActions{RequestURL: srv.URL, RequestToken: "t", Client: http.DefaultClient}
		_, err := g.Token(context.Background(), "sigstore")
		if err == nil || strings.Contains(err.Error(), jwtA) {
			t.Errorf("Token error = %v, want one that does not quote the body", err)
		}
	})
}

func TestSPIFFE(t *testing.T) {
	const id = "spiffe://example.org/ns/ci/sa/builder"
	api := spiffetest.Start(t, id)
	c := idtoken.Chain{Ambient: idtoken.Ambient(idtoken.AmbientOptions{
		LookupEnv: envOf(map[string]string{idtoken.EnvSPIFFEEndpointSocket: api.Endpoint}),
		TokenFile: filepath.Join(t.TempDir(), "absent"),
	})}
	tok, src, err := c.Token(context.Background())
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	cl := claimsOf(t, tok)
	if src != "spiffe" || cl["sub"] != id || cl["iss"] != api.Issuer {
		t.Errorf("token from %s with claims %v", src, cl)
	}
	if aud, _ := cl["aud"].([]any); len(aud) != 1 || aud[0] != "sigstore" {
		t.Errorf("aud %v, want [sigstore]", cl["aud"])
	}

	// cosign's form: a bare socket path.
	bare := &idtoken.SPIFFE{Endpoint: strings.TrimPrefix(api.Endpoint, "unix://")}
	if err := bare.Available(); err != nil {
		t.Fatalf("bare path: %v", err)
	}
	if _, err := bare.Token(context.Background(), "sigstore"); err != nil {
		t.Errorf("bare path: %v", err)
	}

	missing := &idtoken.SPIFFE{Endpoint: "unix://" + filepath.Join(t.TempDir(), "none.sock")}
	if err := missing.Available(); err == nil {
		t.Error("a missing socket is available")
	}
	notSocket := &idtoken.SPIFFE{Endpoint: emptyFile(t)}
	if err := notSocket.Available(); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("a plain file: %v", err)
	}
}

type staticSource struct{ name, tok string }

func (s staticSource) Name() string                                  { return s.name }
func (s staticSource) Available() error                              { return nil }
func (s staticSource) Token(context.Context, string) (string, error) { return s.tok, nil }

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func bigFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(p, []byte(strings.Repeat("a", idtoken.MaxTokenSize+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func emptyFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
