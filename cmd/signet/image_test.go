package main

import (
	"encoding/base64"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signetproject/signet/internal/registrytest"
)

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
		tagRef, digestRef := registrytest.PushRandom(t, host, "app")
		for _, layout := range []string{"referrers", "legacy"} {
			name := layout
			if !referrers {
				name += " on a registry without the referrers API"
			}
			t.Run(name, func(t *testing.T) {
				_, otherDigest := registrytest.PushRandom(t, host, "other-"+layout)
				steps := []struct {
					args    []string
					wantErr string // "" = must succeed
					wantOut string
				}{
					{[]string{"sign", tagRef, "--registry-layout", layout, "--dev-identity", "alice@example.com", "-a", "env=prod"}, "", "is a tag"},
					{[]string{"sign", digestRef, "--registry-layout", layout, "--key", filepath.Join(dir, "k.key")}, "", "Signed"},
					{[]string{"attest", digestRef, "--registry-layout", layout, "--predicate", vuln, "--type", "vuln", "--dev-identity", "alice@example.com"}, "", "Attested"},
					{[]string{"verify", digestRef, "--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", issuer}, "", `"env":"prod"`},
					{[]string{"verify", digestRef, "-a", "env=prod", "--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", issuer}, "", `"env":"prod"`},
					{[]string{"verify", digestRef, "-a", "env=dev", "--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", issuer}, "missing or incorrect annotation", ""},
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

// TestImageRecursive signs a multi-platform index with --recursive and
// verifies the index and each platform image; without --recursive only the
// index is signed.
func TestImageRecursive(t *testing.T) {
	bin := buildSignet(t)
	url := startServer(t, bin)
	dir := t.TempDir()
	env := []string{"SIGNET_SERVER=" + url, "SIGSTORE_ID_TOKEN=", "COSIGN_PASSWORD=", "SIGNET_PASSWORD="}
	if out, err := run(t, env, bin, "generate-key-pair", "--output-key-prefix", filepath.Join(dir, "k")); err != nil {
		t.Fatalf("generate-key-pair: %v\n%s", err, out)
	}
	key, pub := filepath.Join(dir, "k.key"), filepath.Join(dir, "k.pub")
	reg := httptest.NewServer(registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")

	for _, layout := range []string{"referrers", "legacy"} {
		t.Run(layout, func(t *testing.T) {
			push := func(repo string) (string, []string) {
				idx, err := random.Index(256, 1, 3)
				if err != nil {
					t.Fatal(err)
				}
				ref, err := name.NewTag(host + "/" + repo + ":v1")
				if err != nil {
					t.Fatal(err)
				}
				if err := remote.WriteIndex(ref, idx); err != nil {
					t.Fatal(err)
				}
				d, _ := idx.Digest()
				m, err := idx.IndexManifest()
				if err != nil {
					t.Fatal(err)
				}
				var children []string
				for _, c := range m.Manifests {
					children = append(children, ref.Context().Digest(c.Digest.String()).String())
				}
				return ref.Context().Digest(d.String()).String(), children
			}
			recursive, recursiveChildren := push("recursive-" + layout)
			single, singleChildren := push("single-" + layout)
			mustRun := func(args ...string) string {
				t.Helper()
				out, err := run(t, env, bin, args...)
				if err != nil {
					t.Fatalf("signet %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				return out
			}
			out := mustRun("sign", recursive, "--recursive", "--key", key, "--registry-layout", layout)
			if n := strings.Count(out, "Signed "); n != 4 {
				t.Errorf("sign --recursive signed %d manifests, want the index and 3 images:\n%s", n, out)
			}
			mustRun("attest", recursive, "--recursive", "--key", key, "--registry-layout", layout, "--predicate", pub, "--type", "custom")
			mustRun("sign", single, "--key", key, "--registry-layout", layout)
			for _, img := range append([]string{recursive, single}, recursiveChildren...) {
				mustRun("verify", img, "--key", pub)
			}
			for _, img := range recursiveChildren {
				mustRun("verify-attestation", img, "--key", pub, "--type", "custom")
			}
			// A key and no log: no trust material needed, so no server.
			offline := append(append([]string{}, env...), "SIGNET_SERVER=http://127.0.0.1:1")
			if out, err := run(t, offline, bin, "verify", recursiveChildren[0], "--key", pub, "--insecure-ignore-tlog"); err != nil {
				t.Errorf("verify --key --insecure-ignore-tlog without a server: %v\n%s", err, out)
			}
			for _, img := range singleChildren {
				if out, err := run(t, env, bin, "verify", img, "--key", pub); err == nil || !strings.Contains(out, "no signatures found") {
					t.Errorf("verify %s (signed without --recursive): err=%v, want no signatures found:\n%s", img, err, out)
				}
			}
		})
	}
}

// TestImageErrors checks that registry trouble and unsigned images give
// one clear line, not go-containerregistry's request trace.
func TestImageErrors(t *testing.T) {
	bin := buildSignet(t)
	url := startServer(t, bin)
	dir := t.TempDir()
	if out, err := run(t, []string{"COSIGN_PASSWORD="}, bin, "generate-key-pair", "--output-key-prefix", filepath.Join(dir, "k")); err != nil {
		t.Fatalf("generate-key-pair: %v\n%s", err, out)
	}
	pub := filepath.Join(dir, "k.pub")
	// A Docker config with wrong credentials for every registry below.
	dockerConfig := t.TempDir()
	open := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer open.Close()
	openHost := strings.TrimPrefix(open.URL, "http://")
	_, unsigned := registrytest.PushRandom(t, openHost, "unsigned")

	// A registry that wants basic auth (alice:secret), like a private one.
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	private := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "secret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="signet test"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	defer private.Close()
	privateHost := strings.TrimPrefix(private.URL, "http://")
	privateImage := privateHost + "/app@sha256:" + strings.Repeat("ab", 32)
	auth := base64.StdEncoding.EncodeToString([]byte("alice:wrong"))
	if err := os.WriteFile(filepath.Join(dockerConfig, "config.json"),
		[]byte(`{"auths":{"`+privateHost+`":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"unreachable registry", nil, []string{"verify", closed + "/app:v1", "--key", pub}, "resolve " + closed + "/app:v1: registry unreachable: dial tcp " + closed + ": connect: connection refused"},
		{"unreachable registry when signing", nil, []string{"sign", closed + "/app:v1", "--key", filepath.Join(dir, "k.key")}, "registry unreachable"},
		{"no credentials", []string{"DOCKER_CONFIG=" + t.TempDir()}, []string{"verify", privateImage, "--key", pub}, "registry authentication failed (401 Unauthorized); check the credentials for " + privateHost},
		{"wrong credentials", []string{"DOCKER_CONFIG=" + dockerConfig}, []string{"tree", privateImage}, "registry authentication failed (401 Unauthorized"},
		{"no such image", nil, []string{"verify", openHost + "/app@sha256:" + strings.Repeat("0", 64), "--key", pub}, "not found (404 Not Found"},
		{"no signatures", nil, []string{"verify", unsigned, "--key", pub}, "no signatures found for " + unsigned},
		{"no attestations", nil, []string{"verify-attestation", unsigned, "--key", pub, "--type", "vuln"}, "no attestations of type https://cosign.sigstore.dev/attestation/vuln/v1 found for " + unsigned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := append([]string{"SIGNET_SERVER=" + url, "COSIGN_PASSWORD="}, tt.env...)
			out, err := run(t, env, bin, tt.args...)
			if err == nil {
				t.Fatalf("succeeded, want failure:\n%s", out)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("output does not say %q:\n%s", tt.want, out)
			}
			if lines := strings.Count(strings.TrimSpace(out), "\n") + 1; lines != 1 {
				t.Errorf("%d lines of output, want one:\n%s", lines, out)
			}
		})
	}
}
