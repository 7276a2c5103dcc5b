package oidc_test

import (
	"strings"
	"testing"

	"github.com/signetproject/signet/oidc"
)

func TestIssuerConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     oidc.IssuerConfig
		wantErr string // "" when valid
	}{
		{"email", oidc.IssuerConfig{URL: "https://accounts.google.com", Type: oidc.TypeEmail}, ""},
		{"email http for local testing", oidc.IssuerConfig{URL: "http://127.0.0.1:5556/dex", Type: oidc.TypeEmail, ClientID: "signet"}, ""},
		{"github", oidc.IssuerConfig{URL: "https://token.actions.githubusercontent.com", Type: oidc.TypeGitHubWorkflow}, ""},
		{"github enterprise", oidc.IssuerConfig{URL: "https://token.ghe.example.com", Type: oidc.TypeGitHubWorkflow, BaseURL: "https://ghe.example.com"}, ""},
		{"gitlab", oidc.IssuerConfig{URL: "https://gitlab.com", Type: oidc.TypeGitLabPipeline}, ""},
		{"spiffe", oidc.IssuerConfig{URL: "https://spire.example.org", Type: oidc.TypeSPIFFE, SPIFFETrustDomain: "prod.example-org_1"}, ""},
		{"kubernetes", oidc.IssuerConfig{URL: "https://oidc.eks.us-west-2.amazonaws.com/id/ABC", Type: oidc.TypeKubernetes}, ""},
		{"uri", oidc.IssuerConfig{URL: "https://auth.example.com", Type: oidc.TypeURI, SubjectDomain: "https://example.com"}, ""},
		{"username", oidc.IssuerConfig{URL: "https://auth.example.com", Type: oidc.TypeUsername, SubjectDomain: "example.com"}, ""},
		{"dev", oidc.IssuerConfig{URL: "http://127.0.0.1:8080/oidc", Type: oidc.TypeDev}, ""},

		{"no url", oidc.IssuerConfig{Type: oidc.TypeEmail}, "must be an absolute URL"},
		{"relative url", oidc.IssuerConfig{URL: "accounts.google.com", Type: oidc.TypeEmail}, "must be an absolute URL"},
		{"unparsable url", oidc.IssuerConfig{URL: "https://%zz", Type: oidc.TypeEmail}, "must be an absolute URL"},
		{"ftp url", oidc.IssuerConfig{URL: "ftp://example.com", Type: oidc.TypeEmail}, "scheme must be https"},
		{"no type", oidc.IssuerConfig{URL: "https://a.example"}, "type is required"},
		{"unknown type", oidc.IssuerConfig{URL: "https://a.example", Type: "ci-provider"}, `unknown type "ci-provider"`},
		{"github relative baseURL", oidc.IssuerConfig{URL: "https://a.example", Type: oidc.TypeGitHubWorkflow, BaseURL: "github.com"}, "baseURL"},
		{"gitlab relative baseURL", oidc.IssuerConfig{URL: "https://a.example", Type: oidc.TypeGitLabPipeline, BaseURL: "/gitlab"}, "baseURL"},
		{"spiffe without trust domain", oidc.IssuerConfig{URL: "https://a.example", Type: oidc.TypeSPIFFE}, "needs spiffeTrustDomain"},
		{"spiffe uppercase trust domain", oidc.IssuerConfig{URL: "https://a.example", Type: oidc.TypeSPIFFE, SPIFFETrustDomain: "Example.org"}, "invalid character 'E'"},
		{"spiffe trust domain with scheme", oidc.IssuerConfig{URL: "https://a.example", Type: oidc.TypeSPIFFE, SPIFFETrustDomain: "spiffe://example.org"}, "invalid character ':'"},
		{"uri without subject domain", oidc.IssuerConfig{URL: "https://a.example", Type: oidc.TypeURI}, "needs subjectDomain"},
		{"uri bare subject domain", oidc.IssuerConfig{URL: "https://a.example", Type: oidc.TypeURI, SubjectDomain: "example.com"}, "must be a URL"},
		{"username without subject domain", oidc.IssuerConfig{URL: "https://a.example", Type: oidc.TypeUsername}, "needs subjectDomain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("Validate accepted %+v", tt.cfg)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("error %q does not mention %q", err, tt.wantErr)
			}
		})
	}
}
