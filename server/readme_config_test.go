package server

import (
	"os"
	"strings"
	"testing"

	"github.com/signetproject/signet/oidc"
)

// TestREADMEConfig parses the README's configuration example: it must be a
// valid config with one issuer of every type and a meta issuer.
func TestREADMEConfig(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## Configuration")
	_, block, ok2 := strings.Cut(section, "```yaml\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no yaml block under ## Configuration")
	}
	cfg, err := ParseConfig([]byte(block))
	if err != nil {
		t.Fatalf("README config: %v", err)
	}
	types := map[oidc.IssuerType]bool{}
	for _, is := range cfg.Issuers {
		types[is.Type] = true
	}
	for _, want := range []oidc.IssuerType{oidc.TypeEmail, oidc.TypeGitHubWorkflow, oidc.TypeGitLabPipeline,
		oidc.TypeKubernetes, oidc.TypeSPIFFE, oidc.TypeURI, oidc.TypeUsername} {
		if !types[want] {
			t.Errorf("README config has no %s issuer", want)
		}
	}
	if len(cfg.MetaIssuers) == 0 {
		t.Error("README config has no meta issuer")
	}
}
