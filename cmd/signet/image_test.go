package main

import (
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// pushRandomImage pushes a random image to the registry and returns its
// tag reference and digest reference.
func pushRandomImage(t *testing.T, host, repo string) (string, string) {
	t.Helper()
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(host + "/" + repo + ":v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return tag.String(), tag.Context().Digest(d.String()).String()
}

// TestImageCommands signs and attests images with the real binary against
// an in-process registry (with and without the referrers API) and a running
// signet server, then verifies, rejects and lists what is attached.
func TestImageCommands(t *testing.T) {
	bin := buildSignet(t)
	url := startServer(t, bin)
	dir := t.TempDir()
	env := []string{"SIGNET_SERVER=" + url, "SIGSTORE_ID_TOKEN=", "COSIGN_PASSWORD="}
	if out, err := run(t, env, bin, "generate-key-pair", "--output-key-prefix", filepath.Join(dir, "k")); err != nil {
		t.Fatalf("generate-key-pair: %v\n%s", err, out)
	}
	vuln := filepath.Join(dir, "vuln.json")
	if err := os.WriteFile(vuln, []byte(`{"scanner":{"uri":"pkg:github/aquasecurity/trivy@0.50.0","version":"0.50.0","result":{"Results":[]}},"metadata":{"scanStartedOn":"2026-11-25T00:00:00Z","scanFinishedOn":"2026-11-25T00:01:00Z"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	issuer := url + "/oidc"
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noCritical := write("no-critical.rego", `package sigstore
default isCompliant = false
isCompliant {
  count([v | v := input.predicate.scanner.result.Results[_].Vulnerabilities[_]; v.Severity == "CRITICAL"]) == 0
}
`)
	mustHaveCritical := write("must-have-critical.rego", `package sigstore
default isCompliant = false
isCompliant {
  count([v | v := input.predicate.scanner.result.Results[_].Vulnerabilities[_]; v.Severity == "CRITICAL"]) > 0
}
`)
	cip := func(name, subject, extra string) string {
		return write(name+".yaml", `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: `+name+`
spec:
  images:
  - glob: "**"
  authorities:
  - keyless:
      identities:
      - issuer: `+issuer+`
        subject: `+subject+extra)
	}
	cipAlice := cip("require-alice", "alice@example.com", "\n")
	cipMallory := cip("require-mallory", "mallory@example.com", "\n")
	cipVuln := cip("require-no-critical-vulns", "alice@example.com", `
    attestations:
    - name: no-critical
      predicateType: vuln
      policy:
        type: rego
        data: |
          package sigstore
          default isCompliant = false
          isCompliant {
            count([v | v := input.predicate.scanner.result.Results[_].Vulnerabilities[_]; v.Severity == "CRITICAL"]) == 0
          }
`)
	for _, referrers := range []bool{true, false} {
		reg := httptest.NewServer(registry.New(registry.WithReferrersSupport(referrers), registry.Logger(log.New(io.Discard, "", 0))))
		defer reg.Close()
		host := strings.TrimPrefix(reg.URL, "http://")
		tagRef, digestRef := pushRandomImage(t, host, "app")
		for _, layout := range []string{"referrers", "legacy"} {
			name := layout
			if !referrers {
				name += " on a registry without the referrers API"
			}
			t.Run(name, func(t *testing.T) {
				_, otherDigest := pushRandomImage(t, host, "other-"+layout)
				steps := []struct {
					args    []string
					wantErr string // "" = must succeed
					wantOut string
				}{
					{[]string{"sign", tagRef, "--registry-layout", layout, "--dev-identity", "alice@example.com", "-a", "env=prod"}, "", "is a tag"},
					{[]string{"sign", digestRef, "--registry-layout", layout, "--key", filepath.Join(dir, "k.key")}, "", "Signed"},
					{[]string{"attest", digestRef, "--registry-layout", layout, "--predicate", vuln, "--type", "vuln", "--dev-identity", "alice@example.com"}, "", "Attested"},
					{[]string{"verify", digestRef, "--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", issuer}, "", `"env":"prod"`},
					{[]string{"verify", digestRef, "--key", filepath.Join(dir, "k.pub")}, "", "sha256"},
					{[]string{"verify", digestRef, "--certificate-identity", "mallory@example.com", "--certificate-oidc-issuer", issuer}, "none of the", ""},
					{[]string{"verify", otherDigest, "--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", issuer}, "no signatures found", ""},
					{[]string{"verify-attestation", digestRef, "--type", "vuln", "--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", issuer}, "", "trivy"},
					{[]string{"verify-attestation", digestRef, "--type", "slsaprovenance", "--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", issuer}, "attestations of type", ""},
					{[]string{"tree", digestRef}, "", "attestation"},
					{[]string{"verify-attestation", digestRef, "--type", "vuln", "--policy", noCritical, "--key", filepath.Join(dir, "k.pub")}, "none of the", ""},
					{[]string{"verify-attestation", digestRef, "--type", "vuln", "--policy", noCritical, "--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", issuer}, "", "trivy"},
					{[]string{"verify-attestation", digestRef, "--type", "vuln", "--policy", mustHaveCritical, "--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", issuer}, "none of the", ""},
					{[]string{"policy", "test", "--policy", cipAlice, digestRef}, "", "ALLOWED"},
					{[]string{"policy", "test", "--policy", cipMallory, digestRef}, "images denied", "DENIED"},
					{[]string{"policy", "test", "--policy", cipAlice, "--policy", cipVuln, digestRef}, "", "policy require-no-critical-vulns (enforce): passed"},
				}
				for _, s := range steps {
					out, err := run(t, env, bin, s.args...)
					if s.wantErr == "" && err != nil {
						t.Fatalf("signet %s: %v\n%s", strings.Join(s.args, " "), err, out)
					}
					if s.wantErr != "" && (err == nil || !strings.Contains(out, s.wantErr)) {
						t.Fatalf("signet %s: err=%v, want failure mentioning %q:\n%s", strings.Join(s.args, " "), err, s.wantErr, out)
					}
					if !strings.Contains(out, s.wantOut) {
						t.Errorf("signet %s: output lacks %q:\n%s", strings.Join(s.args, " "), s.wantOut, out)
					}
				}
			})
		}
	}
}
