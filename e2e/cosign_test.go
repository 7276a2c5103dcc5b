//go:build e2e

package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// These tests prove cosign accepts signet's CA on its own: no transparency
// log, no TSA, and certificates without SCTs. What cosign needs for that:
//
//   - No Rekor. Legacy signing (signature + certificate files): v2 takes
//     --tlog-upload=false; v3 also needs --use-signing-config=false (v3
//     refuses --tlog-upload=false with a signing config) and
//     --new-bundle-format=false. Bundle signing takes signet's
//     /signing_config.json less its rekorTlogUrls and tsaUrls (what cosign's
//     own error message advises), so only the CA is used.
//     verify-blob takes --insecure-ignore-tlog; cosign then checks the
//     certificate at the current time.
//   - SCTs. signet's CA embeds an SCT from signet's CT log in every
//     certificate, and the trusted root lists that log, so cosign checks
//     SCTs as it does against the public-good instance: bundles with
//     --trusted-root take the CT log key from it; the legacy paths (v2
//     signing without a signing config, verify-blob --certificate) take it
//     from SIGSTORE_CT_LOG_PUBLIC_KEY_FILE, or from TUF after cosign
//     initialize (tuf_test.go). No --insecure-ignore-sct, no
//     --insecure-skip-verify.
//   - signet's root instead of the public-good TUF root: --trusted-root with
//     signet's /trusted_root.json (bundles; when signing, cosign also
//     verifies the new bundle against it), or --certificate-chain or the
//     legacy SIGSTORE_ROOT_FILE with the PEM chain from /api/v1/rootCert.
//   - The ID token in a file: cosign takes --identity-token as a raw token
//     only if it parses as an RS256 JWT, and reads anything else as a path.
//     signet's dev issuer signs ES256, so the token goes in a file, without
//     a trailing newline (cosign would send it in the Authorization header,
//     which Go's HTTP client refuses).

// trust is the trust material the tests hand to cosign.
type trust struct {
	chainPEM      string // signet's CA chain (intermediate, root) from /api/v1/rootCert
	trustedRoot   string // signet's /trusted_root.json
	signingConfig string // signet's /signing_config.json without its transparency logs and TSAs
	ctKey         string // PEM public key of signet's CT log, from the trusted root
	// Another CA that signet's certificates do not chain to.
	otherChainPEM    string
	otherTrustedRoot string
}

func fetchTrust(t testing.TB, dir string) trust {
	t.Helper()
	tr := trust{
		chainPEM:      writeFile(t, dir, "chain.pem", httpGet(t, "/api/v1/rootCert")),
		trustedRoot:   writeFile(t, dir, "trusted_root.json", httpGet(t, "/trusted_root.json")),
		signingConfig: writeFile(t, dir, "signing_config.json", withoutServices(t, httpGet(t, "/signing_config.json"), "rekorTlogUrls", "tsaUrls")),
	}
	tr.ctKey = writeFile(t, dir, "ctlog.pub", ctLogKeyPEM(t, readFile(t, tr.trustedRoot)))
	otherDER := selfSignedCA(t)
	tr.otherChainPEM = writeFile(t, dir, "other-chain.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: otherDER}))
	tr.otherTrustedRoot = writeFile(t, dir, "other-trusted-root.json", replaceCAChain(t, httpGet(t, "/trusted_root.json"), otherDER))
	return tr
}

// identity is a kind of signer identity: how to get its token and which
// verify-blob flags must accept or reject its certificate.
type identity struct {
	name      string
	tokenArgs []string // signet dev token flags
	// verifyArgs returns the identity flags that match the certificate.
	verifyArgs func(claims map[string]any) []string
	// mismatches are identity flags that must make verification fail, with
	// a regexp cosign's output must match (so they fail for that reason).
	mismatches func(claims map[string]any) []mismatch
}

type mismatch struct {
	name string
	args []string
	want string // regexp over cosign's output
}

// What cosign prints when verification fails for the reason a case means:
// the legacy verifier's words | sigstore-go's (bundles).
const (
	wrongSAN         = `none of the expected identities matched|expected SAN value`
	wrongIssuer      = `none of the expected identities matched|expected issuer value`
	wrongSANRegexp   = `none of the expected identities matched|no matching CertificateIdentity found, last error: expected SAN`
	wrongRepository  = `expected GitHub Workflow Repository not found|expected GithubWorkflowRepository to be`
	wrongWorkflowRef = `expected GitHub Workflow Ref not found|expected GithubWorkflowRef to be`
	badSignature     = `invalid signature when validating ASN.1 encoded signature`
	untrustedCA      = `x509: certificate signed by unknown authority|leaf certificate verification failed`
)

func identities() []identity {
	issuer := env.oidcIssuer
	return []identity{
		{
			name:      "email",
			tokenArgs: []string{"--email", "alice@example.com"},
			verifyArgs: func(map[string]any) []string {
				return []string{"--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", issuer}
			},
			mismatches: func(map[string]any) []mismatch {
				return []mismatch{
					{"wrong identity", []string{"--certificate-identity", "bob@example.com", "--certificate-oidc-issuer", issuer}, wrongSAN},
					{"wrong issuer", []string{"--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", "https://accounts.google.com"}, wrongIssuer},
					{"identity regexp that does not match", []string{"--certificate-identity-regexp", `^bob@`, "--certificate-oidc-issuer", issuer}, wrongSANRegexp},
				}
			},
		},
		{
			name:      "github workflow",
			tokenArgs: []string{"--github-workflow", "octo/app@main"},
			verifyArgs: func(c map[string]any) []string {
				return []string{
					"--certificate-identity", "https://github.com/" + claim(c, "job_workflow_ref"),
					"--certificate-oidc-issuer", issuer,
					"--certificate-github-workflow-repository", "octo/app",
					"--certificate-github-workflow-ref", "refs/heads/main",
					"--certificate-github-workflow-trigger", claim(c, "event_name"),
					"--certificate-github-workflow-sha", claim(c, "sha"),
					"--certificate-github-workflow-name", claim(c, "workflow"),
				}
			},
			mismatches: func(c map[string]any) []mismatch {
				san := "https://github.com/" + claim(c, "job_workflow_ref")
				return []mismatch{
					{"wrong workflow identity", []string{"--certificate-identity", "https://github.com/octo/app/.github/workflows/other.yml@refs/heads/main", "--certificate-oidc-issuer", issuer}, wrongSAN},
					{"wrong issuer", []string{"--certificate-identity", san, "--certificate-oidc-issuer", "https://token.actions.githubusercontent.com"}, wrongIssuer},
					{"wrong repository", []string{"--certificate-identity", san, "--certificate-oidc-issuer", issuer, "--certificate-github-workflow-repository", "octo/other"}, wrongRepository},
					{"wrong ref", []string{"--certificate-identity", san, "--certificate-oidc-issuer", issuer, "--certificate-github-workflow-ref", "refs/heads/dev"}, wrongWorkflowRef},
				}
			},
		},
	}
}

// signer is one way of running cosign sign-blob keyless against signet.
type signer struct {
	name   string
	cosign func() string // binary
	bundle bool          // writes a Sigstore bundle (else a signature + certificate)
	args   func(tr trust, tokenFile string, out signed) []string
	env    func(tr trust) []string // nil: none
}

// signed names the files sign-blob wrote.
type signed struct {
	sig, cert, bundle string
}

func signers() []signer {
	legacy := func(tr trust, tokenFile string, out signed) []string {
		return []string{"sign-blob", "--yes",
			"--fulcio-url", env.serverURL, "--identity-token", tokenFile,
			"--tlog-upload=false", // the CA alone: no transparency log
			"--output-signature", out.sig, "--output-certificate", out.cert}
	}
	withSigningConfig := func(tr trust, tokenFile string, out signed) []string {
		return []string{"sign-blob", "--yes",
			"--signing-config", tr.signingConfig, // CA + OIDC issuer only
			"--trusted-root", tr.trustedRoot, // cosign verifies the new bundle against it
			"--identity-token", tokenFile, "--bundle", out.bundle}
	}
	return []signer{
		{
			name: "v2 legacy", cosign: func() string { return env.cosignV2 },
			args: legacy,
			// v2 checks the new certificate's SCT with the CT log keys of
			// its (TUF) trusted root, or of this file. (v3 dropped that check.)
			env: func(tr trust) []string { return []string{"SIGSTORE_CT_LOG_PUBLIC_KEY_FILE=" + tr.ctKey} },
		},
		{name: "v2 signing-config", cosign: func() string { return env.cosignV2 }, bundle: true, args: withSigningConfig},
		{
			name: "v3 legacy", cosign: func() string { return env.cosignV3 },
			args: func(tr trust, tokenFile string, out signed) []string {
				return append(legacy(tr, tokenFile, out),
					"--use-signing-config=false", // else v3 refuses --tlog-upload=false
					"--new-bundle-format=false",
					"--trusted-root", tr.trustedRoot)
			},
		},
		{name: "v3 signing-config", cosign: func() string { return env.cosignV3 }, bundle: true, args: withSigningConfig},
	}
}

// verifier is one way of running cosign verify-blob.
type verifier struct {
	name   string
	cosign func() string
	bundle bool // verifies bundles (else signature + certificate)
	// args returns the flags naming the signature and trust material:
	// signet's when trusted, another CA's otherwise.
	args func(tr trust, s signed, trusted bool) (args, env []string)
}

func verifiers() []verifier {
	legacyChain := func(tr trust, s signed, trusted bool) ([]string, []string) {
		chain := tr.chainPEM
		if !trusted {
			chain = tr.otherChainPEM
		}
		return []string{"--signature", s.sig, "--certificate", s.cert, "--certificate-chain", chain}, []string{"SIGSTORE_CT_LOG_PUBLIC_KEY_FILE=" + tr.ctKey}
	}
	bundleRoot := func(tr trust, s signed, trusted bool) ([]string, []string) {
		root := tr.trustedRoot
		if !trusted {
			root = tr.otherTrustedRoot
		}
		return []string{"--bundle", s.bundle, "--new-bundle-format", "--trusted-root", root}, nil
	}
	return []verifier{
		{name: "v2 --certificate-chain", cosign: func() string { return env.cosignV2 }, args: legacyChain},
		{
			name: "v2 SIGSTORE_ROOT_FILE", cosign: func() string { return env.cosignV2 },
			args: func(tr trust, s signed, trusted bool) ([]string, []string) {
				chain := tr.chainPEM
				if !trusted {
					chain = tr.otherChainPEM
				}
				return []string{"--signature", s.sig, "--certificate", s.cert}, []string{"SIGSTORE_ROOT_FILE=" + chain, "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE=" + tr.ctKey}
			},
		},
		{name: "v3 --certificate-chain", cosign: func() string { return env.cosignV3 }, args: legacyChain},
		{name: "v2 --trusted-root", cosign: func() string { return env.cosignV2 }, bundle: true, args: bundleRoot},
		{name: "v3 --trusted-root", cosign: func() string { return env.cosignV3 }, bundle: true, args: bundleRoot},
	}
}

// TestCosignKeylessSignBlob signs a blob with each cosign version and mode
// using a certificate from signet's CA, then verifies it with every cosign
// verifier that reads that format: the right identity must pass; a wrong
// identity, issuer or workflow claim, a modified blob and a foreign CA must
// each fail.
func TestCosignKeylessSignBlob(t *testing.T) {
	dir := t.TempDir()
	tr := fetchTrust(t, dir)
	blob := writeFile(t, dir, "artifact.txt", []byte("hello from signet e2e\n"))
	tampered := writeFile(t, dir, "tampered.txt", []byte("hello from signet e2e!\n"))

	for _, id := range identities() {
		for _, sg := range signers() {
			t.Run(id.name+"/"+sg.name, func(t *testing.T) {
				t.Parallel()
				out := t.TempDir()
				s := signed{sig: filepath.Join(out, "blob.sig"), cert: filepath.Join(out, "blob.crt"), bundle: filepath.Join(out, "blob.sigstore.json")}
				token := devToken(t, id.tokenArgs...)
				claims := tokenClaims(t, token)
				// ES256 tokens go to cosign in a file (see the top of this file).
				tokenFile := writeFile(t, out, "token", []byte(token))
				var signEnv []string
				if sg.env != nil {
					signEnv = sg.env(tr)
				}
				if res := runCosign(t, sg.cosign(), signEnv, append(sg.args(tr, tokenFile, s), blob)...); res.err != nil {
					t.Fatalf("sign-blob failed: %v\n%s", res.err, res.out)
				}
				checkSigned(t, s, sg.bundle, id, claims)

				type verifyCase struct {
					name    string
					blob    string
					trusted bool
					idArgs  []string
					want    string // "" to pass, else a regexp the failure output must match
				}
				cases := []verifyCase{{name: "ok", blob: blob, trusted: true, idArgs: id.verifyArgs(claims)}}
				for _, m := range id.mismatches(claims) {
					cases = append(cases, verifyCase{name: m.name, blob: blob, trusted: true, idArgs: m.args, want: m.want})
				}
				cases = append(cases,
					verifyCase{name: "modified blob", blob: tampered, trusted: true, idArgs: id.verifyArgs(claims),
						want: badSignature},
					verifyCase{name: "untrusted CA", blob: blob, trusted: false, idArgs: id.verifyArgs(claims),
						want: untrustedCA},
				)
				for _, v := range verifiers() {
					if v.bundle != sg.bundle {
						continue
					}
					for _, c := range cases {
						t.Run(v.name+"/"+c.name, func(t *testing.T) {
							t.Parallel()
							args, extraEnv := v.args(tr, s, c.trusted)
							args = append(append(append([]string{"verify-blob"}, args...), c.idArgs...),
								"--insecure-ignore-tlog", // signed without a transparency log
								c.blob)
							res := runCosign(t, v.cosign(), extraEnv, args...)
							switch {
							case c.want == "" && res.err != nil:
								t.Fatalf("verify-blob failed, want success: %v\n%s", res.err, res.out)
							case c.want != "" && res.err == nil:
								t.Fatalf("verify-blob succeeded, want failure matching %q\n%s", c.want, res.out)
							case c.want != "" && !regexp.MustCompile(c.want).MatchString(res.printed()):
								t.Fatalf("verify-blob failed for another reason than expected (want output matching %q): %v\n%s", c.want, res.err, res.out)
							}
						})
					}
				}
			})
		}
	}
}

// checkSigned checks the files sign-blob wrote: the certificate is signet's,
// for the token's identity.
func checkSigned(t *testing.T, s signed, bundle bool, id identity, claims map[string]any) {
	t.Helper()
	var certDER []byte
	if bundle {
		var b struct {
			MediaType            string `json:"mediaType"`
			VerificationMaterial struct {
				Certificate struct {
					RawBytes []byte `json:"rawBytes"`
				} `json:"certificate"`
				TlogEntries []json.RawMessage `json:"tlogEntries"`
			} `json:"verificationMaterial"`
		}
		data := readFile(t, s.bundle)
		if err := json.Unmarshal(data, &b); err != nil {
			t.Fatalf("bundle: %v\n%s", err, data)
		}
		if !strings.HasPrefix(b.MediaType, "application/vnd.dev.sigstore.bundle") {
			t.Errorf("bundle mediaType = %q", b.MediaType)
		}
		if len(b.VerificationMaterial.TlogEntries) != 0 {
			t.Errorf("bundle has %d tlog entries, want none", len(b.VerificationMaterial.TlogEntries))
		}
		certDER = b.VerificationMaterial.Certificate.RawBytes
	} else {
		if len(readFile(t, s.sig)) == 0 {
			t.Fatalf("empty signature file %s", s.sig)
		}
		data := readFile(t, s.cert)
		if dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data))); err == nil {
			data = dec // cosign base64-encodes --output-certificate by default
		}
		block, _ := pem.Decode(data)
		if block == nil {
			t.Fatalf("certificate file holds no PEM:\n%s", data)
		}
		certDER = block.Bytes
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		t.Fatalf("parse signing certificate: %v", err)
	}
	if got := cert.Issuer.CommonName; got != "signet intermediate" {
		t.Errorf("certificate issuer CN = %q, want signet intermediate", got)
	}
	var sans []string
	sans = append(sans, cert.EmailAddresses...)
	for _, u := range cert.URIs {
		sans = append(sans, u.String())
	}
	want := claim(claims, "email")
	if id.name == "github workflow" {
		want = "https://github.com/" + claim(claims, "job_workflow_ref")
	}
	if len(sans) != 1 || sans[0] != want {
		t.Errorf("certificate SANs = %q, want [%s]", sans, want)
	}
}

// cosignResult is a finished cosign (or signet) run: its combined output,
// exit error and the CPU time (user and system) the process used.
type cosignResult struct {
	out string
	err error
	cpu time.Duration
}

// runCosign runs cosign with a clean environment: a fresh HOME (cosign
// caches TUF data there), and every proxy variable pointing at a closed
// port so that any attempt to reach the internet fails at once (Go never
// proxies 127.0.0.1, so signet stays reachable).
func runCosign(t testing.TB, bin string, extraEnv []string, args ...string) cosignResult {
	t.Helper()
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"TMPDIR=" + home,
		"HTTP_PROXY=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9",
		"http_proxy=http://127.0.0.1:9", "https_proxy=http://127.0.0.1:9",
		"NO_PROXY=", "no_proxy=",
	}, extraEnv...)
	out, err := cmd.CombinedOutput()
	return cosignResult{out: fmt.Sprintf("$ %s %s\n%s", filepath.Base(filepath.Dir(bin))+"/cosign", strings.Join(redact(args), " "), out), err: err, cpu: cpuTime(cmd)}
}

// printed is what the process printed: out without the command line it
// starts with, which names the image or file and so must not satisfy a
// check of the output.
func (r cosignResult) printed() string {
	_, p, _ := strings.Cut(r.out, "\n")
	return p
}

// cpuTime is the CPU time a finished command used, zero if it did not
// start.
func cpuTime(cmd *exec.Cmd) time.Duration {
	if cmd.ProcessState == nil {
		return 0
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// redact shortens identity tokens in a command line shown in failures.
func redact(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if i > 0 && args[i-1] == "--identity-token" && len(a) > 20 {
			out[i] = a[:20] + "…"
		}
	}
	return out
}

// devToken returns an ID token from the server's dev issuer, got with the
// signet CLI as a user would.
func devToken(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), env.signetBin, append([]string{"dev", "token", "--server", env.serverURL}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("signet dev token %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// tokenClaims decodes (without verifying) a JWT's claims.
func tokenClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("token payload: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatalf("token claims: %v", err)
	}
	return claims
}

func claim(c map[string]any, name string) string {
	s, _ := c[name].(string)
	return s
}

func httpGet(t testing.TB, path string) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, env.serverURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", path, resp.Status, body)
	}
	return body
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// selfSignedCA returns the DER of a fresh self-signed CA certificate with the
// same names as signet's, so only the key tells them apart.
func selfSignedCA(t testing.TB) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{Organization: []string{"signet"}, CommonName: "signet root"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// replaceCAChain returns trustedRoot with every CA's chain replaced by the
// single certificate der.
func replaceCAChain(t testing.TB, trustedRoot, der []byte) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(trustedRoot, &doc); err != nil {
		t.Fatalf("trusted root: %v", err)
	}
	cas, _ := doc["certificateAuthorities"].([]any)
	if len(cas) == 0 {
		t.Fatalf("trusted root lists no certificate authorities:\n%s", trustedRoot)
	}
	for _, ca := range cas {
		ca.(map[string]any)["certChain"] = map[string]any{
			"certificates": []any{map[string]any{"rawBytes": base64.StdEncoding.EncodeToString(der)}},
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ctLogKeyPEM returns the PEM public key of the one CT log trustedRoot
// lists.
func ctLogKeyPEM(t testing.TB, trustedRoot []byte) []byte {
	t.Helper()
	var doc struct {
		CTLogs []struct {
			PublicKey struct {
				RawBytes []byte `json:"rawBytes"`
			} `json:"publicKey"`
		} `json:"ctlogs"`
	}
	if err := json.Unmarshal(trustedRoot, &doc); err != nil {
		t.Fatalf("trusted root: %v", err)
	}
	if len(doc.CTLogs) != 1 {
		t.Fatalf("trusted root lists %d CT logs, want 1:\n%s", len(doc.CTLogs), trustedRoot)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: doc.CTLogs[0].PublicKey.RawBytes})
}

// withoutServices returns a signing config with the named service lists
// removed.
func withoutServices(t testing.TB, signingConfig []byte, fields ...string) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(signingConfig, &doc); err != nil {
		t.Fatalf("signing config: %v\n%s", err, signingConfig)
	}
	if _, ok := doc["caUrls"]; !ok {
		t.Fatalf("signing config lists no CA:\n%s", signingConfig)
	}
	for _, f := range fields {
		delete(doc, f)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
