package verify

import (
	"strings"
	"testing"
)

// TestIdentityGitHubFields checks each GitHub workflow criterion against
// the certificate's extension of the same name: equal passes, different
// fails naming the field.
func TestIdentityGitHubFields(t *testing.T) {
	cert := &Certificate{SAN: "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main", Issuer: "https://token.actions.githubusercontent.com",
		GitHubWorkflowRepository: "octo/app", GitHubWorkflowRef: "refs/heads/main", GitHubWorkflowTrigger: "push",
		GitHubWorkflowSHA: "0123456789abcdef0123456789abcdef01234567", GitHubWorkflowName: "release"}
	base := Identity{SAN: cert.SAN, Issuer: cert.Issuer}
	tests := []struct {
		field string
		set   func(*Identity, string)
		good  string
	}{
		{"repository", func(id *Identity, v string) { id.GitHubWorkflowRepository = v }, cert.GitHubWorkflowRepository},
		{"ref", func(id *Identity, v string) { id.GitHubWorkflowRef = v }, cert.GitHubWorkflowRef},
		{"trigger", func(id *Identity, v string) { id.GitHubWorkflowTrigger = v }, cert.GitHubWorkflowTrigger},
		{"SHA", func(id *Identity, v string) { id.GitHubWorkflowSHA = v }, cert.GitHubWorkflowSHA},
		{"name", func(id *Identity, v string) { id.GitHubWorkflowName = v }, cert.GitHubWorkflowName},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			good := base
			tt.set(&good, tt.good)
			if err := good.compile(); err != nil {
				t.Fatal(err)
			}
			if err := good.matches(cert); err != nil {
				t.Errorf("matching %s refused: %v", tt.field, err)
			}
			bad := base
			tt.set(&bad, "other")
			if err := bad.compile(); err != nil {
				t.Fatal(err)
			}
			err := bad.matches(cert)
			if err == nil || !strings.Contains(err.Error(), "GitHub workflow "+tt.field) {
				t.Errorf("another %s: %v", tt.field, err)
			}
		})
	}
}
