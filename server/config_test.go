package server

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signetproject/signet/oidc"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    Config
		wantErr string // "" when valid
	}{
		{"good", `
issuers:
  - url: https://token.actions.githubusercontent.com
    type: github-workflow
  - url: https://accounts.example.com
    type: email
    clientID: signet
  - url: https://spire.example.org
    type: spiffe
    spiffeTrustDomain: example.org
  - url: https://auth.example.com
    type: username
    subjectDomain: example.com
  - url: https://gitlab.example.com
    type: gitlab-pipeline
    baseURL: https://gitlab.example.com
`, Config{Issuers: []oidc.IssuerConfig{
			{URL: "https://token.actions.githubusercontent.com", Type: oidc.TypeGitHubWorkflow},
			{URL: "https://accounts.example.com", Type: oidc.TypeEmail, ClientID: "signet"},
			{URL: "https://spire.example.org", Type: oidc.TypeSPIFFE, SPIFFETrustDomain: "example.org"},
			{URL: "https://auth.example.com", Type: oidc.TypeUsername, SubjectDomain: "example.com"},
			{URL: "https://gitlab.example.com", Type: oidc.TypeGitLabPipeline, BaseURL: "https://gitlab.example.com"},
		}}, ""},
		{"empty file", "", Config{}, ""},
		{"comments only", "# no issuers: dev issuer only\n", Config{}, ""},
		{"no issuers", "issuers: []\n", Config{Issuers: []oidc.IssuerConfig{}}, ""},
		{"unknown top-level field", "issuers: []\nlisten: :8080\n", Config{}, "line 2: field listen not found"},
		{"unknown issuer field", "issuers:\n  - url: https://a.example\n    type: email\n    client_id: x\n", Config{}, "line 4: field client_id not found"},
		{"bad type", "issuers:\n  - url: [https://a.example]\n    type: email\n", Config{}, "line 2"},
		{"issuers not a list", "issuers: https://a.example\n", Config{}, "line 1"},
		{"missing spiffeTrustDomain", "issuers:\n  - url: https://spire.example.org\n    type: spiffe\n", Config{}, "issuers[0]: issuer https://spire.example.org: type spiffe needs spiffeTrustDomain"},
		{"missing type", "issuers:\n  - url: https://a.example\n", Config{}, "issuers[0]: issuer https://a.example: type is required"},
		{"duplicate issuer", "issuers:\n  - url: https://a.example\n    type: email\n  - url: https://b.example\n    type: email\n  - url: https://a.example\n    type: kubernetes\n", Config{}, "issuers[2]: issuer https://a.example is listed twice"},
		{"type dev refused", "issuers:\n  - url: http://127.0.0.1:8080/oidc\n    type: dev\n", Config{}, "issuers[0]: type dev is reserved"},
		{"two documents", "issuers: []\n---\nissuers: []\n", Config{}, "more than one YAML document"},
		{"second document empty-ish", "issuers: []\n---\nfoo: 1\n", Config{}, "more than one YAML document"},
		{"not YAML", "issuers: [\n", Config{}, "yaml"},
		{"meta issuer", "metaIssuers:\n  - url: https://oidc.eks.*.amazonaws.com/id/*\n    type: kubernetes\n",
			Config{MetaIssuers: []oidc.IssuerConfig{{URL: "https://oidc.eks.*.amazonaws.com/id/*", Type: oidc.TypeKubernetes}}}, ""},
		{"pattern under issuers", "issuers:\n  - url: https://oidc.eks.*.amazonaws.com/id/*\n    type: kubernetes\n", Config{}, "issuers[0]: https://oidc.eks.*.amazonaws.com/id/* is a pattern: list it under metaIssuers"},
		{"plain URL under metaIssuers", "metaIssuers:\n  - url: https://a.example\n    type: email\n", Config{}, `metaIssuers[0]: https://a.example has no "*"`},
		{"invalid meta issuer", "metaIssuers:\n  - url: https://*.example\n    type: spiffe\n", Config{}, "metaIssuers[0]: issuer https://*.example: type spiffe needs spiffeTrustDomain"},
		{"meta issuer twice", "metaIssuers:\n  - url: https://*.example\n    type: email\n  - url: https://*.example\n    type: kubernetes\n", Config{}, "metaIssuers[1]: meta issuer https://*.example is listed twice"},
		{"kubernetes with CA file", "issuers:\n  - url: https://127.0.0.1:6443\n    type: kubernetes\n    caFile: /etc/k8s/ca.crt\n",
			Config{Issuers: []oidc.IssuerConfig{{URL: "https://127.0.0.1:6443", Type: oidc.TypeKubernetes, CAFile: "/etc/k8s/ca.crt"}}}, ""},
		{"CA file for plain HTTP", "issuers:\n  - url: http://127.0.0.1:6443\n    type: kubernetes\n    caFile: /etc/k8s/ca.crt\n", Config{}, "caFile is for https issuers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConfig([]byte(tt.yaml))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseConfig: %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("config (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseConfig accepted it: %+v", got)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not mention %q", err, tt.wantErr)
			}
		})
	}
}
