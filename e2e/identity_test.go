//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/internal/freeport"
	"github.com/signetproject/signet/internal/registrytest"
	"github.com/signetproject/signet/internal/spiffetest"
)

// The identity e2e tests: keyless signing with the identities of people
// (a real OpenID provider), CI jobs (GitHub Actions' token protocol),
// Kubernetes service accounts (a real kube-apiserver as issuer) and SPIFFE
// workloads (the Workload API), each through the signet binary.

// identityServer starts a signet server (with --dev, for its TSA, logs and
// dev issuer) that also trusts the issuers in configYAML.
func identityServer(t *testing.T, configYAML string) *server {
	t.Helper()
	dir := t.TempDir()
	cfg := writeFile(t, dir, "signet.yaml", []byte(configYAML))
	srv, err := startServer(filepath.Join(dir, "data"), "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.stop(); err != nil {
			t.Errorf("%v\n%s", err, srv.log.String())
		}
		if t.Failed() {
			t.Logf("signet server log:\n%s", srv.log.String())
		}
	})
	return srv
}

// signetEnv is the environment signet runs in: this one without any
// ambient token source, plus extra.
func signetEnv(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "SIGSTORE_ID_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "SPIFFE_ENDPOINT_SOCKET", "SIGNET_SERVER":
			continue
		}
		out = append(out, kv)
	}
	return append(out, extra...)
}

// signet runs the signet binary and returns its combined output.
func signet(t *testing.T, extraEnv []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, env.signetBin, args...)
	cmd.Env = signetEnv(extraEnv...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// bundleCert returns the signing certificate of a bundle file.
func bundleCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := bundle.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := b.Certificate()
	if c == nil {
		t.Fatalf("%s has no certificate", path)
	}
	return c
}

// certExtension returns a Fulcio extension's value: raw for .1.1–.1.6,
// DER UTF8String for .1.8 on.
func certExtension(c *x509.Certificate, oid string) string {
	for _, e := range c.Extensions {
		if e.Id.String() != oid {
			continue
		}
		var s string
		if rest, err := asn1.Unmarshal(e.Value, &s); err == nil && len(rest) == 0 {
			return s
		}
		return string(e.Value)
	}
	return ""
}

func certSAN(c *x509.Certificate) string {
	switch {
	case len(c.EmailAddresses) == 1:
		return c.EmailAddresses[0]
	case len(c.URIs) == 1:
		return c.URIs[0].String()
	}
	return fmt.Sprintf("(emails %v, URIs %v)", c.EmailAddresses, c.URIs)
}

const (
	oidIssuer            = "1.3.6.1.4.1.57264.1.1"
	oidIssuerV2          = "1.3.6.1.4.1.57264.1.8"
	oidGitHubRepository  = "1.3.6.1.4.1.57264.1.5"
	oidGitHubRef         = "1.3.6.1.4.1.57264.1.6"
	oidSourceRepoURI     = "1.3.6.1.4.1.57264.1.12"
	oidSourceRepoRef     = "1.3.6.1.4.1.57264.1.14"
	oidBuildSignerURI    = "1.3.6.1.4.1.57264.1.9"
	oidRunInvocationURI  = "1.3.6.1.4.1.57264.1.21"
	oidRunnerEnvironment = "1.3.6.1.4.1.57264.1.11"
)

// TestIdentityGitHubActions: in a GitHub Actions job, `signet sign-blob`
// needs no token flag: it asks the job's token endpoint (the documented
// request protocol, served here by a test server handing out the dev
// issuer's GitHub-workflow tokens) and the certificate carries the
// workflow's extensions.
func TestIdentityGitHubActions(t *testing.T) {
	const (
		requestToken = "ghs_request-token-of-this-job"
		workflow     = "octo-org/app/.github/workflows/release.yml@refs/tags/v1.2.3"
	)
	var (
		mu       sync.Mutex
		requests []string
		issued   []string
	)
	actions := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r.URL.RawQuery)
		mu.Unlock()
		if r.Header.Get("Authorization") != "bearer "+requestToken {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"Bad credentials"}`))
			return
		}
		if r.URL.Query().Get("api-version") == "" {
			http.Error(w, `{"message":"api-version is required"}`, http.StatusBadRequest)
			return
		}
		tok := devToken(t, "--github-workflow", workflow, "--audience", r.URL.Query().Get("audience"))
		mu.Lock()
		issued = append(issued, tok)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"count": 1, "value": tok})
	}))
	t.Cleanup(actions.Close)

	dir := t.TempDir()
	art := writeFile(t, dir, "release.tar.gz", []byte("release artifact built by a workflow\n"))
	out := filepath.Join(dir, "release.sigstore.json")
	jobEnv := []string{
		"SIGNET_SERVER=" + env.serverURL,
		"ACTIONS_ID_TOKEN_REQUEST_URL=" + actions.URL + "/_apis/token/actions?api-version=2.0",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + requestToken,
	}
	printed, err := signet(t, jobEnv, "sign-blob", art, "--bundle", out)
	if err != nil {
		t.Fatalf("sign-blob in the job: %v\n%s", err, printed)
	}
	mu.Lock()
	if len(requests) != 1 || !strings.Contains(requests[0], "audience=sigstore") || len(issued) != 1 {
		t.Errorf("token requests %q, want one for audience sigstore", requests)
	}
	if len(issued) == 1 && strings.Contains(printed, issued[0]) {
		t.Error("signet printed the token")
	}
	mu.Unlock()
	if strings.Contains(printed, "dev issuer") {
		t.Errorf("signet used the dev issuer, not the job's token:\n%s", printed)
	}

	cert := bundleCert(t, out)
	want := map[string]string{
		"SAN":                "https://github.com/" + workflow,
		oidIssuer:            env.oidcIssuer,
		oidIssuerV2:          env.oidcIssuer,
		oidGitHubRepository:  "octo-org/app",
		oidGitHubRef:         "refs/tags/v1.2.3",
		oidSourceRepoURI:     "https://github.com/octo-org/app",
		oidSourceRepoRef:     "refs/tags/v1.2.3",
		oidBuildSignerURI:    "https://github.com/" + workflow,
		oidRunnerEnvironment: "github-hosted",
		oidRunInvocationURI:  "https://github.com/octo-org/app/actions/runs/1000000001/attempts/1",
	}
	got := map[string]string{"SAN": certSAN(cert)}
	for oid := range want {
		if oid != "SAN" {
			got[oid] = certExtension(cert, oid)
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("certificate %s = %q, want %q", k, got[k], v)
		}
	}

	verified, err := signet(t, nil, "verify-blob", art, "--bundle", out, "--server", env.serverURL,
		"--certificate-identity", "https://github.com/"+workflow, "--certificate-oidc-issuer", env.oidcIssuer,
		"--certificate-github-workflow-repository", "octo-org/app", "--certificate-github-workflow-ref", "refs/tags/v1.2.3")
	if err != nil || !strings.Contains(verified, "Verified OK") {
		t.Errorf("verify-blob: %v\n%s", err, verified)
	}
	if out, err := signet(t, nil, "verify-blob", art, "--bundle", out, "--server", env.serverURL,
		"--certificate-identity", "https://github.com/"+workflow, "--certificate-oidc-issuer", env.oidcIssuer,
		"--certificate-github-workflow-repository", "octo-org/other"); err == nil {
		t.Errorf("verify-blob accepted another repository:\n%s", out)
	}

	// A job whose request token is wrong gets the endpoint's refusal, not
	// a fallback to some other identity.
	bad := append([]string(nil), jobEnv...)
	bad[2] = "ACTIONS_ID_TOKEN_REQUEST_TOKEN=stale"
	if out, err := signet(t, bad, "sign-blob", art, "--bundle", filepath.Join(dir, "bad.json")); err == nil ||
		!strings.Contains(out, "github-actions: token request: 401 Unauthorized") {
		t.Errorf("sign-blob with a bad request token: %v\n%s", err, out)
	}
}

// TestIdentitySPIFFE: a workload with a SPIFFE Workload API signs with the
// JWT-SVID it hands out; the CA, trusting the SPIFFE issuer, certifies the
// SPIFFE ID.
func TestIdentitySPIFFE(t *testing.T) {
	const id = "spiffe://example.org/ns/ci/sa/builder"
	api := spiffetest.Start(t, id)
	evil := spiffetest.Start(t, "spiffe://evil.example/ns/ci/sa/builder")
	srv := identityServer(t, fmt.Sprintf(`issuers:
  - url: %s
    type: spiffe
    spiffeTrustDomain: example.org
  - url: %s
    type: spiffe
    spiffeTrustDomain: example.org
`, api.Issuer, evil.Issuer))

	dir := t.TempDir()
	art := writeFile(t, dir, "app.bin", []byte("built by a SPIFFE workload\n"))
	out := filepath.Join(dir, "app.sigstore.json")
	printed, err := signet(t, []string{"SPIFFE_ENDPOINT_SOCKET=" + api.Endpoint}, "sign-blob", art, "--bundle", out, "--server", srv.url)
	if err != nil {
		t.Fatalf("sign-blob with a Workload API: %v\n%s", err, printed)
	}
	if api.Requests.Load() != 1 {
		t.Errorf("%d JWT-SVID requests, want 1", api.Requests.Load())
	}
	cert := bundleCert(t, out)
	if san, iss := certSAN(cert), certExtension(cert, oidIssuerV2); san != id || iss != api.Issuer {
		t.Errorf("certificate for %s from %s, want %s from %s", san, iss, id, api.Issuer)
	}
	if out, err := signet(t, nil, "verify-blob", art, "--bundle", out, "--server", srv.url,
		"--certificate-identity", id, "--certificate-oidc-issuer", api.Issuer); err != nil {
		t.Errorf("verify-blob: %v\n%s", err, out)
	}
	if out, err := signet(t, nil, "verify-blob", art, "--bundle", out, "--server", srv.url,
		"--certificate-identity", "spiffe://example.org/ns/ci/sa/other", "--certificate-oidc-issuer", api.Issuer); err == nil {
		t.Errorf("verify-blob accepted another SPIFFE ID:\n%s", out)
	}

	// An SVID from outside the configured trust domain is refused.
	if out, err := signet(t, []string{"SPIFFE_ENDPOINT_SOCKET=" + evil.Endpoint}, "sign-blob", art,
		"--bundle", filepath.Join(dir, "evil.json"), "--server", srv.url); err == nil || !strings.Contains(out, "trust domain") {
		t.Errorf("sign-blob with an SVID of another trust domain: %v\n%s", err, out)
	}
}

// TestIdentityKubernetes: a real kube-apiserver is the issuer of its
// service accounts' tokens. The CA discovers it (its serving CA in caFile,
// discovery open to anonymous clients), and a TokenRequest token for
// audience sigstore gets a certificate for
// https://kubernetes.io/namespaces/NS/serviceaccounts/SA.
func TestIdentityKubernetes(t *testing.T) {
	t.Setenv("SIGNET_E2E_SA_ISSUER", "self")
	k := admissionK8sUp(t)
	kenv := readEnvFile(t, filepath.Join(filepath.Dir(k.kubeconfig), "env"))
	issuer, caFile := kenv["SA_ISSUER"], kenv["APISERVER_CA"]
	if issuer != kenv["APISERVER_URL"] {
		t.Fatalf("SA issuer %q is not the API server %q", issuer, kenv["APISERVER_URL"])
	}
	ctx := context.Background()
	kubernetesAllowIssuerDiscovery(ctx, t, k)
	const ns = "signers"
	kubernetesServiceAccounts(ctx, t, k, ns, "release-bot", "intruder")
	releaseTok := kubernetesToken(ctx, t, k, ns, "release-bot", "sigstore")
	intruderTok := kubernetesToken(ctx, t, k, ns, "intruder", "sigstore")
	apiTok := kubernetesToken(ctx, t, k, ns, "release-bot", "https://kubernetes.default.svc")

	srv := identityServer(t, fmt.Sprintf("issuers:\n  - url: %s\n    type: kubernetes\n    caFile: %s\n", issuer, caFile))
	_, image := registrytest.PushRandom(t, registrytest.Start(t), "k8s/app")
	dir := t.TempDir()
	releaseFile := writeFile(t, dir, "release-bot.token", []byte(releaseTok))
	const release = "https://kubernetes.io/namespaces/signers/serviceaccounts/release-bot"

	if out, err := signet(t, nil, "sign", image, "--server", srv.url, "--identity-token", releaseFile); err != nil {
		t.Fatalf("sign with the service account token: %v\n%s", err, out)
	}
	verified, err := signet(t, nil, "verify", image, "--server", srv.url,
		"--certificate-identity", release, "--certificate-oidc-issuer", issuer)
	if err != nil || !strings.Contains(verified, release) {
		t.Errorf("verify as release-bot: %v\n%s", err, verified)
	}
	if out, err := signet(t, nil, "verify", image, "--server", srv.url,
		"--certificate-identity", "https://kubernetes.io/namespaces/signers/serviceaccounts/intruder", "--certificate-oidc-issuer", issuer); err == nil {
		t.Errorf("verify accepted another service account:\n%s", out)
	}

	// A pod's projected token file (the filesystem source, no token flag).
	blob := writeFile(t, dir, "blob", []byte("signed by a pod\n"))
	podToken := writeFile(t, dir, "oidc-token", []byte(intruderTok))
	if out, err := signet(t, nil, "sign-blob", blob, "--bundle", filepath.Join(dir, "pod.json"), "--server", srv.url,
		"--oidc-token-file", podToken); err != nil {
		t.Fatalf("sign-blob with a projected token file: %v\n%s", err, out)
	}
	if san := certSAN(bundleCert(t, filepath.Join(dir, "pod.json"))); san != "https://kubernetes.io/namespaces/signers/serviceaccounts/intruder" {
		t.Errorf("pod certificate for %s", san)
	}

	// A token the API server made for itself is not one for the CA.
	if out, err := signet(t, nil, "sign-blob", blob, "--bundle", filepath.Join(dir, "api.json"), "--server", srv.url,
		"--identity-token", apiTok); err == nil || !strings.Contains(out, "audience") {
		t.Errorf("sign-blob with a token for the API server: %v\n%s", err, out)
	}
}

// TestIdentityOpenIDProvider: a person logs in at a real third-party
// OpenID provider — zitadel/oidc's example OP (see
// scripts/oidc-provider-build.sh), with one static user — by the
// authorization code flow with PKCE (the test plays the browser: it posts
// the provider's login form, then follows the redirect to signet's
// loopback) and by the device flow; the certificate carries the user's
// email. A replayed code, a tampered state and a token for another client
// are refused.
func TestIdentityOpenIDProvider(t *testing.T) {
	op := startZitadelOP(t)
	srv := identityServer(t, fmt.Sprintf("issuers:\n  - url: %s\n    type: email\n    clientID: sigstore\n", op.issuer))
	dir := t.TempDir()
	art := writeFile(t, dir, "notes.txt", []byte("signed by a person\n"))
	sign := func(name string, extra ...string) *loginRun {
		args := append([]string{"sign-blob", art, "--bundle", filepath.Join(dir, name+".json"), "--server", srv.url, "--oidc-issuer", op.issuer}, extra...)
		return startLogin(t, args...)
	}

	var firstCallback string
	t.Run("authorization code", func(t *testing.T) {
		run := sign("code")
		callback := op.login(t, run.authURL(t), "alice", zitadelPassword)
		firstCallback = callback
		run.deliver(t, callback)
		if out, err := run.wait(); err != nil {
			t.Fatalf("sign-blob: %v\n%s", err, out)
		}
		cert := bundleCert(t, filepath.Join(dir, "code.json"))
		if san, iss := certSAN(cert), certExtension(cert, oidIssuerV2); san != "alice@example.com" || iss != op.issuer {
			t.Errorf("certificate for %s from %s", san, iss)
		}
		if out, err := signet(t, nil, "verify-blob", art, "--bundle", filepath.Join(dir, "code.json"), "--server", srv.url,
			"--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", op.issuer); err != nil {
			t.Errorf("verify-blob: %v\n%s", err, out)
		}
	})

	t.Run("replayed code", func(t *testing.T) {
		if firstCallback == "" {
			t.Skip("no code to replay")
		}
		run := sign("replay")
		auth, err := url.Parse(run.authURL(t))
		if err != nil {
			t.Fatal(err)
		}
		// The first login's code, sent to this login's loopback with this
		// login's state: only the provider can tell it was used.
		old, _ := url.Parse(firstCallback)
		cb, _ := url.Parse(auth.Query().Get("redirect_uri"))
		q := url.Values{"code": {old.Query().Get("code")}, "state": {auth.Query().Get("state")}}
		cb.RawQuery = q.Encode()
		run.deliver(t, cb.String())
		out, err := run.wait()
		if err == nil || !strings.Contains(out, "refused the authorization code: invalid_grant") {
			t.Errorf("sign-blob with a replayed code: %v\n%s", err, out)
		}
		logRefusal(t, out)
	})

	t.Run("tampered state", func(t *testing.T) {
		run := sign("state")
		callback := op.login(t, run.authURL(t), "alice", zitadelPassword)
		u, _ := url.Parse(callback)
		q := u.Query()
		q.Set("state", q.Get("state")+"x")
		u.RawQuery = q.Encode()
		run.deliver(t, u.String())
		out, err := run.wait()
		if err == nil || !strings.Contains(out, "carries a state this login did not send") {
			t.Errorf("sign-blob with a tampered state: %v\n%s", err, out)
		}
		logRefusal(t, out)
	})

	t.Run("token for another client", func(t *testing.T) {
		run := sign("other", "--oidc-client-id", "other-client")
		run.deliver(t, op.login(t, run.authURL(t), "alice", zitadelPassword))
		out, err := run.wait()
		if err == nil || !strings.Contains(out, "audience") {
			t.Errorf("sign-blob with another client's token: %v\n%s", err, out)
		}
		logRefusal(t, out)
	})

	t.Run("device flow", func(t *testing.T) {
		run := sign("device", "--oidc-device-flow")
		code := run.userCode(t)
		op.approveDevice(t, code, "alice", zitadelPassword)
		if out, err := run.wait(); err != nil {
			t.Fatalf("sign-blob --oidc-device-flow: %v\n%s", err, out)
		}
		if san := certSAN(bundleCert(t, filepath.Join(dir, "device.json"))); san != "alice@example.com" {
			t.Errorf("certificate for %s", san)
		}
	})

	t.Run("device flow, unknown client", func(t *testing.T) {
		out, err := signet(t, nil, "sign-blob", art, "--bundle", filepath.Join(dir, "nobody.json"), "--server", srv.url,
			"--oidc-issuer", op.issuer, "--oidc-device-flow", "--oidc-client-id", "nobody")
		if err == nil || !strings.Contains(out, "refused the device authorization request") {
			t.Errorf("sign-blob with an unknown client: %v\n%s", err, out)
		}
		logRefusal(t, out)
	})
}

const zitadelPassword = "correct horse battery staple"

// zitadelOP is a running zitadel/oidc example OpenID provider.
type zitadelOP struct {
	issuer string
}

func startZitadelOP(t *testing.T) *zitadelOP {
	t.Helper()
	paths, err := runBuildScript(filepath.Join("..", "scripts", "oidc-provider-build.sh"), "ZITADEL_OP")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	users := writeFile(t, dir, "users.json", []byte(`{"alice": {"ID": "alice", "Username": "alice", "Password": "`+zitadelPassword+`",
	  "FirstName": "Alice", "LastName": "Liddell", "Email": "alice@example.com", "EmailVerified": true}}`))
	addr := fmt.Sprintf("127.0.0.1:%d", freeport.Get(t))
	op := &zitadelOP{issuer: "http://" + addr}
	cmd := exec.Command(paths["ZITADEL_OP"], "-issuer", op.issuer, "-addr", addr, "-users", users)
	log := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("zitadel-op log:\n%s", log.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pollOK(ctx, op.issuer+"/.well-known/openid-configuration"); err != nil {
		t.Fatalf("zitadel-op: %v\n%s", err, log.String())
	}
	return op
}

// browser is a cookie-keeping HTTP client that stops at redirects to the
// loopback (the CLI's), leaving their delivery to the test.
func browser(t *testing.T, provider string) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := url.Parse(provider)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host != p.Host {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

var hiddenID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// login plays a person in a browser: open the authorization URL, fill in
// the provider's login form; returns the redirect to the CLI's loopback.
func (op *zitadelOP) login(t *testing.T, authURL, user, password string) string {
	t.Helper()
	b := browser(t, op.issuer)
	resp, err := b.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := hiddenID.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("login page: %s\n%s", resp.Status, page)
	}
	resp, err = b.PostForm(op.issuer+"/login/username", url.Values{"id": {string(m[1])}, "username": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.Contains(loc, "/auth/callback?") {
		t.Fatalf("login: %s, Location %q\n%s", resp.Status, loc, page)
	}
	return loc
}

// approveDevice enters the user code on the provider's device page, logs
// in and allows the request.
func (op *zitadelOP) approveDevice(t *testing.T, userCode, user, password string) {
	t.Helper()
	b := browser(t, op.issuer)
	resp, err := b.PostForm(op.issuer+"/device/login", url.Values{"user_code": {userCode}, "username": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "confirm") {
		t.Fatalf("device login: %s\n%s", resp.Status, page)
	}
	resp, err = b.Get(op.issuer + "/device/confirm?action=allowed")
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "Device authorization allowed") {
		t.Fatalf("device confirm: %s\n%s", resp.Status, page)
	}
}

// loginRun is a signet command running an interactive login.
type loginRun struct {
	cmd   *exec.Cmd
	out   *lockedBuffer
	lines chan string
	done  chan error
}

func startLogin(t *testing.T, args ...string) *loginRun {
	t.Helper()
	cmd := exec.Command(env.signetBin, args...)
	cmd.Env = signetEnv()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &loginRun{cmd: cmd, out: &lockedBuffer{}, lines: make(chan string, 100), done: make(chan error, 1)}
	cmd.Stdout = r.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			_, _ = r.out.Write([]byte(sc.Text() + "\n"))
			select {
			case r.lines <- sc.Text():
			default:
			}
		}
		close(r.lines)
		r.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-r.done
	})
	return r
}

// line returns the first output line matching re.
func (r *loginRun) line(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case l, ok := <-r.lines:
			if !ok {
				t.Fatalf("signet exited without printing %s:\n%s", re, r.out.String())
			}
			if m := re.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-timeout:
			t.Fatalf("signet printed no %s in a minute:\n%s", re, r.out.String())
		}
	}
}

var (
	authURLLine  = regexp.MustCompile(`^\s+(http://\S+/auth\?\S+)$`)
	userCodeLine = regexp.MustCompile(`enter the code (\S+)$`)
)

func (r *loginRun) authURL(t *testing.T) string { return r.line(t, authURLLine)[1] }

func (r *loginRun) userCode(t *testing.T) string { return r.line(t, userCodeLine)[1] }

// deliver is the browser following the redirect to the loopback.
func (r *loginRun) deliver(t *testing.T, callback string) {
	t.Helper()
	resp, err := http.Get(callback)
	if err != nil {
		t.Fatalf("deliver the redirect: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// wait returns the command's output once it exited.
func (r *loginRun) wait() (string, error) {
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return r.out.String(), err
	case <-time.After(2 * time.Minute):
		return r.out.String(), errors.New("signet did not exit within 2 minutes")
	}
}

// logRefusal records how signet refused, for the test log.
func logRefusal(t *testing.T, out string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	t.Logf("refused: %s", lines[len(lines)-1])
}

func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for line := range strings.Lines(string(data)) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			out[k] = v
		}
	}
	return out
}

// kubernetesAllowIssuerDiscovery lets anonymous clients (the CA) read the
// API server's OIDC discovery document and keys, as the Kubernetes docs
// describe for service-account issuer discovery.
func kubernetesAllowIssuerDiscovery(ctx context.Context, t *testing.T, k *admissionCluster) {
	t.Helper()
	_, err := k.client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "service-account-issuer-discovery"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "system:service-account-issuer-discovery"},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "Group", Name: "system:unauthenticated"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// kubernetesServiceAccounts creates a namespace and service accounts (no
// controller makes them on this bare control plane).
func kubernetesServiceAccounts(ctx context.Context, t *testing.T, k *admissionCluster, ns string, names ...string) {
	t.Helper()
	if _, err := k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, err := k.client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// kubernetesToken asks the API server for a token of the service account
// (TokenRequest), for the audience.
func kubernetesToken(ctx context.Context, t *testing.T, k *admissionCluster, ns, sa, audience string) string {
	t.Helper()
	ttl := int64(600)
	tr, err := k.client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: []string{audience}, ExpirationSeconds: &ttl},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}
