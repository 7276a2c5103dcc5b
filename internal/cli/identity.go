package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/signetproject/signet/idtoken"
)

// tokenFlags are the flags that say where a keyless signer's identity
// token comes from, named as cosign names them. sign, attest and sign-blob
// share them.
type tokenFlags struct {
	identityToken    string
	provider         string
	issuer           string
	clientID         string
	clientSecretFile string
	redirectURL      string
	deviceFlow       bool
	tokenFile        string
	devIdentity      string
}

func (t *tokenFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&t.identityToken, "identity-token", "", "OIDC identity token, or a file holding it")
	f.StringVar(&t.provider, "oidc-provider", "", "use only this token source: github-actions, envvar, filesystem, spiffe or interactive (default: try them in that order)")
	f.StringVar(&t.issuer, "oidc-issuer", "", "OpenID provider to log in with (default: the signing config's OIDC URL)")
	f.StringVar(&t.clientID, "oidc-client-id", idtoken.DefaultClientID, "OAuth client ID for the login")
	f.StringVar(&t.clientSecretFile, "oidc-client-secret-file", "", "file holding the OAuth client secret, for providers that require one")
	f.StringVar(&t.redirectURL, "oidc-redirect-url", "", "loopback redirect URL for the browser login (default http://localhost:<free port>/auth/callback)")
	f.BoolVar(&t.deviceFlow, "oidc-device-flow", false, "log in with the device authorization grant: enter a code on any device (for SSH sessions)")
	f.StringVar(&t.tokenFile, "oidc-token-file", idtoken.DefaultTokenFile, "token file to use when present, such as a Kubernetes projected service-account token with audience sigstore")
	f.StringVar(&t.devIdentity, "dev-identity", "dev@signet.localhost", "email to request from a signet dev issuer when no token is given")
}

const tokenSourcesHelp = `The identity token comes from, in cosign's order: --identity-token (a token or a
file); GitHub Actions (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN, audience sigstore);
SIGSTORE_ID_TOKEN; the token file --oidc-token-file (default
/var/run/sigstore/cosign/oidc-token, where a Kubernetes projected service-account
token with audience sigstore is mounted); a SPIFFE JWT-SVID from the Workload API
(SPIFFE_ENDPOINT_SOCKET); else a login at --oidc-issuer or the signing config's OIDC
URL, in the browser (authorization code + PKCE) or with --oidc-device-flow. When that
URL is a signet --dev server's issuer, its insecure dev token for --dev-identity is
used instead of a login. --oidc-provider picks one source.`

// resolve returns the identity token; oidcURL is the signing config's
// OIDC provider. Messages for the person logging in go to stderr; the
// token itself is never printed.
func (t *tokenFlags) resolve(ctx context.Context, oidcURL string, stderr io.Writer) (string, error) {
	chain := idtoken.Chain{
		Explicit:    t.identityToken,
		Provider:    t.provider,
		Ambient:     idtoken.Ambient(idtoken.AmbientOptions{TokenFile: t.tokenFile, HTTPClient: httpClient}),
		Interactive: &interactive{flags: t, oidcURL: oidcURL, stderr: stderr},
	}
	tok, _, err := chain.Token(ctx)
	return tok, err
}

// interactive is the last token source: a login at the OpenID provider,
// or, when the signing config's provider is a signet --dev issuer and no
// --oidc-issuer was given, that issuer's insecure token. It decides only
// when asked, so a command that has a token never probes the issuer.
type interactive struct {
	flags   *tokenFlags
	oidcURL string
	stderr  io.Writer
	chosen  idtoken.Source
	err     error
}

func (i *interactive) source() (idtoken.Source, error) {
	if i.chosen == nil && i.err == nil {
		if i.flags.issuer == "" && i.oidcURL != "" && isDevIssuer(i.oidcURL) {
			i.chosen = &devSource{url: i.oidcURL, identity: i.flags.devIdentity, stderr: i.stderr}
		} else {
			i.chosen, i.err = i.flags.login(i.oidcURL, i.stderr)
		}
	}
	return i.chosen, i.err
}

func (i *interactive) Name() string { return "interactive" }

func (i *interactive) Available() error {
	s, err := i.source()
	if err != nil {
		return err
	}
	return s.Available()
}

func (i *interactive) Token(ctx context.Context, aud string) (string, error) {
	s, err := i.source()
	if err != nil {
		return "", err
	}
	return s.Token(ctx, aud)
}

func (t *tokenFlags) login(oidcURL string, stderr io.Writer) (*idtoken.Login, error) {
	l := &idtoken.Login{
		Issuer: t.issuer, ClientID: t.clientID, RedirectURL: t.redirectURL, Device: t.deviceFlow,
		Prompt: stderr, HTTPClient: httpClient,
	}
	if l.Issuer == "" {
		l.Issuer = oidcURL
	}
	if t.clientSecretFile != "" {
		data, err := os.ReadFile(t.clientSecretFile)
		if err != nil {
			return nil, fmt.Errorf("--oidc-client-secret-file: %w", err)
		}
		l.ClientSecret = strings.TrimSpace(string(data))
	}
	if !t.deviceFlow && term.IsTerminal(int(os.Stdin.Fd())) {
		l.OpenBrowser = openBrowser
	}
	return l, nil
}

// devSource gets a token from a signet --dev server's insecure issuer.
type devSource struct {
	url, identity string
	stderr        io.Writer
}

func (d *devSource) Name() string     { return "dev" }
func (d *devSource) Available() error { return nil }
func (d *devSource) Token(context.Context, string) (string, error) {
	fmt.Fprintf(d.stderr, "WARNING: using the INSECURE dev issuer %s for identity %s\n", d.url, d.identity)
	return devToken(d.url, map[string]any{"email": d.identity})
}

// openBrowser opens url in the desktop's browser.
func openBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return fmt.Errorf("no graphical session")
		}
		cmd = exec.Command("xdg-open", url)
	}
	return cmd.Run() // the openers hand the URL to the browser and return
}
