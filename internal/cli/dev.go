package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/signetproject/signet/keys"
)

func newDevCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Development helpers for a server started with --dev",
	}
	cmd.AddCommand(newDevTokenCmd())
	return cmd
}

func newDevTokenCmd() *cobra.Command {
	var (
		serverURL, email, workflow, subject, audience, out string
		ttl                                                time.Duration
	)
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Print an ID token from the server's built-in (insecure) dev OIDC issuer",
		Long: `Print a signed OIDC ID token from the development issuer of a signet server
started with --dev. Give exactly one identity:

  --email alice@example.com               an email-verified token
  --github-workflow owner/repo@main       a GitHub Actions-like token with realistic claims
                                          (owner/repo/.github/workflows/x.yml@ref for another workflow file)
  --subject spiffe://example.org/ns/app   a token with just this subject`,
		Example: `  signet dev token --server http://127.0.0.1:8080 --email alice@example.com
  export SIGSTORE_ID_TOKEN=$(signet dev token --github-workflow octo/app@refs/tags/v1.0.0)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n := 0
			for _, s := range []string{email, workflow, subject} {
				if s != "" {
					n++
				}
			}
			if n != 1 {
				return errors.New("give exactly one of --email, --github-workflow or --subject")
			}
			tok, err := devToken(strings.TrimRight(serverURL, "/")+"/oidc", map[string]any{
				"email": email, "githubWorkflow": workflow, "subject": subject,
				"audience": audience, "ttlSeconds": int64(ttl / time.Second),
			})
			if err != nil {
				return err
			}
			if out != "" { // no trailing newline: cosign sends a token file verbatim
				return keys.WriteFileAtomic(out, []byte(tok), 0o600)
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&serverURL, "server", defaultServer(), "signet server URL (env SIGNET_SERVER)")
	f.StringVar(&email, "email", "", "email address for an email-verified token")
	f.StringVar(&workflow, "github-workflow", "", "owner/repo@ref for a GitHub Actions-like token")
	f.StringVar(&subject, "subject", "", "subject (sub claim) for a plain token")
	f.StringVar(&audience, "audience", "sigstore", "audience (aud claim)")
	f.DurationVar(&ttl, "ttl", 10*time.Minute, "token lifetime (at most 24h)")
	f.StringVar(&out, "out", "", "write the token to this file (mode 0600, no trailing newline, as cosign --identity-token FILE expects)")
	return cmd
}

// devToken asks the signet dev issuer at issuerURL for a token.
func devToken(issuerURL string, req map[string]any) (string, error) {
	body, _ := json.Marshal(req)
	resp, err := httpClient.Post(issuerURL+"/token", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("request token from %s: %w", issuerURL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("read token: %w", err)
	}
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
		return "", fmt.Errorf("%s is not a dev issuer: start the server with `signet server --dev`", issuerURL)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("dev issuer: %s", errorMessage(resp.Status, data))
	}
	var tok struct {
		IDToken string `json:"id_token"`
	}
	if err := json.Unmarshal(data, &tok); err != nil || tok.IDToken == "" {
		return "", fmt.Errorf("dev issuer returned no token: %s", strings.TrimSpace(string(data)))
	}
	return tok.IDToken, nil
}

// errorMessage extracts the message of a JSON error body.
func errorMessage(status string, body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		return status + ": " + e.Message
	}
	return status + ": " + strings.TrimSpace(string(body))
}
