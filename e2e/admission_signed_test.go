//go:build e2e

package e2e

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/signetproject/signet/internal/registrytest"
	"github.com/signetproject/signet/trustroot"
)

// admissionSigned is what the signed-image admission checks need from
// TestAdmissionWebhook: its cluster, its running webhook (started with
// --server and --mutate) and a way to create policies.
type admissionSigned struct {
	bin, addr, certDir string
	k                  *admissionCluster
	wh                 *admissionWebhook
	applyCIP           func(t *testing.T, version, name, spec string)
	namespace          string // labelled for checks
}

// noCriticalRego is the attestation policy: a vuln scan without any
// CRITICAL finding, in policy-controller's Rego convention.
const noCriticalRego = `package sigstore
default isCompliant = false
isCompliant {
  count([v | v := input.predicate.scanner.result.Results[_].Vulnerabilities[_]; v.Severity == "CRITICAL"]) == 0
}
`

// vulnScan is a trivy-style vuln predicate with the given severities.
func vulnScan(severities ...string) string {
	var vulns []string
	for i, s := range severities {
		vulns = append(vulns, fmt.Sprintf(`{"VulnerabilityID":"CVE-2026-%04d","Severity":%q}`, i+1, s))
	}
	return `{"scanner":{"uri":"pkg:github/aquasecurity/trivy@0.50.0","version":"0.50.0","result":{"Results":[{"Target":"app","Vulnerabilities":[` +
		strings.Join(vulns, ",") + `]}]}},"metadata":{"scanStartedOn":"2026-11-25T00:00:00Z","scanFinishedOn":"2026-11-25T00:01:00Z"}}`
}

// applyTrustRoot creates a TrustRoot with spec.sigstoreKeys.
func (s *admissionSigned) applyTrustRoot(ctx context.Context, t *testing.T, name string, keys map[string]any) {
	t.Helper()
	raw, err := json.Marshal(map[string]any{"apiVersion": "policy.sigstore.dev/v1alpha1", "kind": "TrustRoot",
		"metadata": map[string]any{"name": name}, "spec": map[string]any{"sigstoreKeys": keys}})
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(raw); err != nil {
		t.Fatal(err)
	}
	res := s.k.dyn.Resource(schema.GroupVersionResource{Group: "policy.sigstore.dev", Version: "v1alpha1", Resource: "trustroots"})
	if _, err := res.Create(ctx, u, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create TrustRoot %s: %v", name, err)
	}
}

// certsPEM encodes certificates as a PEM chain.
func certsPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// sigstoreKeys is a TrustRoot's spec.sigstoreKeys (byte fields base64 in
// JSON, as the CRD stores them) with the CA chain caPEM and the
// transparency logs and timestamp authorities of tr.
func sigstoreKeys(t *testing.T, tr *trustroot.TrustedRoot, caPEM []byte) map[string]any {
	t.Helper()
	var tlogs []map[string]any
	seen := map[string]bool{}
	for _, l := range tr.Tlogs {
		der, err := x509.MarshalPKIXPublicKey(l.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		if seen[string(der)] {
			continue // the same key under its Rekor v1 and v2 log IDs
		}
		seen[string(der)] = true
		tlogs = append(tlogs, map[string]any{"baseURL": l.BaseURL, "hashAlgorithm": "sha-256",
			"publicKey": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})})
	}
	tsa := tr.TimestampAuthorities[0]
	var chain []*x509.Certificate
	if tsa.Leaf != nil {
		chain = append(chain, tsa.Leaf)
	}
	chain = append(append(chain, tsa.Intermediates...), tsa.Root)
	subject := map[string]any{"organization": "signet", "commonName": "signet"}
	return map[string]any{
		"certificateAuthorities": []map[string]any{{"subject": subject, "uri": env.serverURL, "certChain": caPEM}},
		"timestampAuthorities":   []map[string]any{{"subject": subject, "uri": env.serverURL, "certChain": certsPEM(chain...)}},
		"tLogs":                  tlogs,
	}
}

// run checks real signatures end to end: images in a registry on
// 127.0.0.1 signed by the signet binary with a key and keyless (against the
// running `signet server --dev`) and attested with vuln scans; policies
// requiring a key, a keyless identity and "no critical CVEs"; pods by
// digest and by tag, with and without the mutating webhook; and the
// registry going away.
func (s *admissionSigned) run(ctx context.Context, t *testing.T) {
	work := t.TempDir()
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	regUp := true
	defer func() {
		if regUp {
			reg.Close()
		}
	}()
	host := strings.TrimPrefix(reg.URL, "http://")

	signet := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(s.bin, args...)
		cmd.Env = append(os.Environ(), "SIGNET_SERVER="+env.serverURL, "SIGSTORE_ID_TOKEN=", "COSIGN_PASSWORD=", "HOME="+work)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("signet %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// push uploads a random image as repo:v1 and returns its tag and
	// digest references.
	push := func(repo string) (string, string) {
		t.Helper()
		return registrytest.PushRandom(t, host, repo)
	}

	signet("generate-key-pair", "--output-key-prefix", filepath.Join(work, "k"))
	pub, err := os.ReadFile(filepath.Join(work, "k.pub"))
	if err != nil {
		t.Fatal(err)
	}
	clean := writeFile(t, work, "clean.json", []byte(vulnScan("LOW", "HIGH")))
	critical := writeFile(t, work, "critical.json", []byte(vulnScan("LOW", "CRITICAL")))

	// Key-signed images, in cosign v2's legacy layout.
	keyTag, keyDigest := push("key/app")
	unsignedTag, keyUnsigned := push("key/unsigned")
	laterTag, keyLater := push("key/later") // first admitted after the registry is gone
	for _, ref := range []string{keyDigest, keyLater} {
		signet("sign", ref, "--key", filepath.Join(work, "k.key"), "--registry-layout", "legacy")
	}
	// Keyless signatures and vuln attestations from the dev issuer, in
	// cosign v3's referrers layout.
	keylessSigned := func(repo, identity, predicate string) string {
		t.Helper()
		_, ref := push(repo)
		signet("sign", ref, "--dev-identity", identity)
		signet("attest", ref, "--type", "vuln", "--predicate", predicate, "--dev-identity", identity)
		return ref
	}
	alice := keylessSigned("keyless/alice", "alice@example.com", clean)
	mallory := keylessSigned("keyless/mallory", "mallory@example.com", clean)
	vulnerable := keylessSigned("keyless/vulnerable", "alice@example.com", critical)
	// Images checked under a key in a Secret and under TrustRoots.
	_, secretSigned := push("secret/app")
	_, secretUnsigned := push("secret/unsigned")
	signet("sign", secretSigned, "--key", filepath.Join(work, "k.key"))
	trustedAlice := keylessSigned("trusted/alice", "alice@example.com", clean)
	_, trustedUnsigned := push("trusted/unsigned")
	otherCAAlice := keylessSigned("otherca/alice", "alice@example.com", clean)

	// The key as a Secret in the webhook's system namespace, for a
	// secretRef.
	if _, err := s.k.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "signet-system"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "release-key"}, Data: map[string][]byte{"cosign.pub": pub}}
	if _, err := s.k.client.CoreV1().Secrets("signet-system").Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// TrustRoots (sigstoreKeys): the server's material, and the same with
	// a CA that issued nothing.
	tr, err := trustroot.LoadTrustedRoot(httpGet(t, "/trusted_root.json"))
	if err != nil {
		t.Fatal(err)
	}
	ca := tr.CertificateAuthorities[0]
	s.applyTrustRoot(ctx, t, "signet", sigstoreKeys(t, tr, certsPEM(append(ca.Intermediates, ca.Root)...)))
	other, err := x509.ParseCertificate(selfSignedCA(t))
	if err != nil {
		t.Fatal(err)
	}
	s.applyTrustRoot(ctx, t, "other-ca", sigstoreKeys(t, tr, certsPEM(other)))

	s.applyCIP(t, "v1beta1", "require-key", fmt.Sprintf(`{"images":[{"glob":%q}],"authorities":[{"name":"release-key","key":{"data":%q}}]}`,
		host+"/key/**", string(pub)))
	keyless := fmt.Sprintf(`{"url":%q,"identities":[{"issuer":%q,"subject":"alice@example.com"}]}`, env.serverURL, env.oidcIssuer)
	s.applyCIP(t, "v1beta1", "require-alice", fmt.Sprintf(`{"images":[{"glob":%q}],"authorities":[{"name":"alice","keyless":%s}]}`,
		host+"/keyless/**", keyless))
	s.applyCIP(t, "v1beta1", "require-no-critical", fmt.Sprintf(`{"images":[{"glob":%q}],"authorities":[{"name":"alice-scan","keyless":%s,`+
		`"attestations":[{"name":"no-critical","predicateType":"vuln","policy":{"type":"rego","data":%q}}]}]}`,
		host+"/keyless/**", keyless, noCriticalRego))
	s.applyCIP(t, "v1beta1", "require-key-secret", fmt.Sprintf(`{"images":[{"glob":%q}],"authorities":[{"name":"secret-key","key":{"secretRef":{"name":"release-key"}}}]}`,
		host+"/secret/**"))
	for _, p := range []struct{ name, glob, trustRoot string }{{"require-trustroot", "/trusted/**", "signet"}, {"require-other-ca", "/otherca/**", "other-ca"}} {
		s.applyCIP(t, "v1beta1", p.name, fmt.Sprintf(`{"images":[{"glob":%q}],"authorities":[{"name":"alice-%s","keyless":{"trustRootRef":%q,`+
			`"identities":[{"issuer":%q,"subject":"alice@example.com"}]}}]}`, host+p.glob, p.trustRoot, p.trustRoot, env.oidcIssuer))
	}

	pods := s.k.client.CoreV1().Pods(s.namespace)
	pod := func(name, image string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}}}
	}
	create := func(name, image string) (*corev1.Pod, error) {
		return pods.Create(ctx, pod(name, image), metav1.CreateOptions{})
	}
	// The policies, and the Secret and TrustRoots they reference, load
	// asynchronously (until a policy loads, allow-all admits what it
	// matches): wait (dry run) until each policy denies an unsigned
	// image for want of signatures, which it reports only once its key or
	// trust root is there.
	for _, p := range []struct{ policy, image string }{
		{"require-key", keyUnsigned}, {"require-key-secret", secretUnsigned}, {"require-trustroot", trustedUnsigned},
	} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, err := pods.Create(ctx, pod("probe-signed", p.image), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if err != nil && strings.Contains(err.Error(), "failed policy: "+p.policy) && strings.Contains(err.Error(), "no signatures found") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never enforced; last: %v\nwebhook log:\n%s", p.policy, err, s.wh.log.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// denied checks that creating the pod fails with every wanted part of
	// the message, and that nothing was stored.
	denied := func(t *testing.T, podName, image string, want ...string) error {
		t.Helper()
		_, err := create(podName, image)
		if err == nil {
			t.Fatalf("%s admitted", image)
		}
		t.Logf("denial: %v", err)
		for _, w := range append([]string{`admission webhook "validate.policy.signet.dev" denied the request`, `image "` + image + `"`}, want...) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("denial lacks %q", w)
			}
		}
		if _, err := pods.Get(ctx, podName, metav1.GetOptions{}); err == nil {
			t.Error("denied pod was stored")
		}
		return err
	}

	t.Run("key-signed image admitted", func(t *testing.T) {
		if _, err := create("key-signed", keyDigest); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unsigned image denied", func(t *testing.T) {
		denied(t, "unsigned", keyUnsigned, "failed policy: require-key", "signature validation failed for authority release-key", "no signatures found")
	})
	t.Run("keyless-signed and attested image admitted", func(t *testing.T) {
		if _, err := create("alice", alice); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("wrong identity denied", func(t *testing.T) {
		denied(t, "mallory", mallory, "failed policy: require-alice", "failed policy: require-no-critical", "mallory@example.com")
	})
	t.Run("critical CVE denied", func(t *testing.T) {
		err := denied(t, "vulnerable", vulnerable, "failed policy: require-no-critical", "no-critical")
		// Alice signed it: only the attestation policy fails.
		if strings.Contains(err.Error(), "failed policy: require-alice:") {
			t.Error("require-alice failed for an image alice signed")
		}
	})
	t.Run("key from a secretRef", func(t *testing.T) {
		if _, err := create("secret-signed", secretSigned); err != nil {
			t.Fatal(err)
		}
		denied(t, "secret-unsigned", secretUnsigned, "failed policy: require-key-secret", "no signatures found")
	})
	t.Run("keyless trustRootRef", func(t *testing.T) {
		if _, err := create("trusted-alice", trustedAlice); err != nil {
			t.Fatal(err)
		}
		// The same identity, but the TrustRoot's CA did not issue the
		// certificate.
		denied(t, "otherca-alice", otherCAAlice, "failed policy: require-other-ca", "no trusted CA issued the certificate")
	})
	t.Run("tag resolved to digest, admitted with warning", func(t *testing.T) {
		s.k.warnings.reset()
		p, err := create("key-tag", keyTag)
		if err != nil {
			t.Fatal(err)
		}
		if p.Spec.Containers[0].Image != keyTag {
			t.Errorf("image changed to %s without the mutating webhook", p.Spec.Containers[0].Image)
		}
		digest := keyDigest[strings.Index(keyDigest, "@")+1:]
		if w := s.k.warnings.all(); !strings.Contains(w, "is not pinned to a digest") || !strings.Contains(w, digest) {
			t.Errorf("warnings %q lack the resolved digest %s", w, digest)
		}
	})
	t.Run("mutating webhook pins the tag", func(t *testing.T) {
		out, err := exec.Command(s.bin, "admission", "install", "--kubeconfig", s.k.kubeconfig, "--mutate",
			"--webhook-url", "https://"+s.addr+"/validate", "--ca-bundle-from", s.certDir).CombinedOutput()
		if err != nil {
			t.Fatalf("signet admission install --mutate: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "applied MutatingWebhookConfiguration signet-admission") {
			t.Errorf("install output lacks the mutating webhook:\n%s", out)
		}
		pinned := keyTag + keyDigest[strings.Index(keyDigest, "@"):]
		// Registration is asynchronous: dry runs show when the API server
		// calls the mutating webhook.
		deadline := time.Now().Add(30 * time.Second)
		for {
			p, err := pods.Create(ctx, pod("key-pinned", keyTag), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if err == nil && p.Spec.Containers[0].Image == pinned {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("tag never pinned; last: %v %v", p, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if _, err := create("key-pinned", keyTag); err != nil {
			t.Fatal(err)
		}
		stored, err := pods.Get(ctx, "key-pinned", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := stored.Spec.Containers[0].Image; got != pinned {
			t.Errorf("stored image %s, want %s", got, pinned)
		}
		// A pinned tag of an unsigned image is still denied.
		_, err = create("unsigned-tag", unsignedTag)
		if err == nil || !strings.Contains(err.Error(), "failed policy: require-key") || !strings.Contains(err.Error(), unsignedTag+"@sha256:") {
			t.Errorf("unsigned image by tag: %v", err)
		}
	})
	t.Run("registry down denies (fail closed)", func(t *testing.T) {
		reg.Close()
		regUp = false
		denied(t, "key-later", keyLater, "failed policy: require-key", "release-key")
		// Tags not resolved recently (see CacheOptions.TagTTL) cannot be
		// pinned either: the mutating webhook denies.
		_, err := create("key-later-tag", laterTag)
		if err == nil || !strings.Contains(err.Error(), "cannot decide, denying (fail closed)") || !strings.Contains(err.Error(), laterTag) {
			t.Errorf("tag with the registry down: %v", err)
		}
	})
	if t.Failed() {
		t.Logf("webhook log:\n%s", s.wh.log.String())
	}
}
