package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signetproject/signet/internal/registrytest"
	"github.com/signetproject/signet/oci"
	"github.com/signetproject/signet/policy"
)

// runPolicyTest runs `signet policy test` in process.
func runPolicyTest(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(root, []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := newPolicyTestCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(append([]string{"--trusted-root", root}, args...))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = cmd.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

func writePolicy(t *testing.T, glob string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cip.yaml")
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	key := strings.ReplaceAll(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "\n", `\n`)
	doc := `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: signed}
spec:
  images: [{glob: "` + glob + `"}]
  authorities: [{name: k, key: {data: "` + key + `"}}]
`
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPolicyTestTimeout: a registry that never answers, by tag or by
// digest, fails `policy test` at --timeout instead of hanging.
func TestPolicyTestTimeout(t *testing.T) {
	h := registrytest.StartHostile(t, registrytest.HostileConfig{Attack: registrytest.Silent})
	cip := writePolicy(t, h.Host+"/**")
	for _, image := range []string{h.Host + "/app:v1", h.Host + "/app@sha256:" + strings.Repeat("a", 64)} {
		start := time.Now()
		out, _, err := runPolicyTest(t, "--policy", cip, "--timeout", "500ms", image)
		if err == nil {
			t.Errorf("%s: admitted:\n%s", image, out)
		}
		if !strings.Contains(err.Error()+out, "no decision within --timeout 500ms") {
			t.Errorf("%s: error %v, output %s: does not say it timed out", image, err, out)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: returned after %s", image, d)
		}
	}
	if _, _, err := runPolicyTest(t, "--policy", cip, "--timeout", "0s", h.Host+"/app:v1"); err == nil || !strings.Contains(err.Error(), "--timeout") {
		t.Errorf("--timeout 0: %v", err)
	}
}

// TestPolicyTestGlobWarnings: a glob that can never match a reference in
// a cluster is reported.
func TestPolicyTestGlobWarnings(t *testing.T) {
	h := registrytest.StartHostile(t, registrytest.HostileConfig{Attack: registrytest.Silent})
	for glob, warn := range map[string]bool{"nginx": true, "myorg/**": true, "docker.io/library/*": false, h.Host + "/**": false} {
		_, stderr, _ := runPolicyTest(t, "--policy", writePolicy(t, glob), "--timeout", "100ms", "--no-match", "allow", h.Host+"/x@sha256:"+strings.Repeat("a", 64))
		if got := strings.Contains(stderr, "can never match"); got != warn {
			t.Errorf("glob %q: warned %v, want %v:\n%s", glob, got, warn, stderr)
		}
	}
}

// blockingChecker gives up when its context ends, with an error that does
// not say why (as a registry client may).
type blockingChecker struct{}

func (blockingChecker) VerifySignatures(ctx context.Context, _ string, _ *policy.Authority, _ policy.RegistryCredentials) ([]policy.Signature, error) {
	<-ctx.Done()
	return nil, errors.New("gave up")
}

func (blockingChecker) VerifyAttestations(ctx context.Context, _ string, _ *policy.Authority, _ policy.RegistryCredentials) ([]policy.VerifiedAttestation, error) {
	<-ctx.Done()
	return nil, errors.New("gave up")
}

// TestPolicyTesterTimeoutSaysSo: an image whose decision runs out of time
// is denied with the time limit as its reason, even when what timed out
// does not say so.
func TestPolicyTesterTimeoutSaysSo(t *testing.T) {
	host := registrytest.Start(t)
	_, digest := registrytest.PushRandom(t, host, "app")
	policies, _, err := loadPolicyFiles([]string{writePolicy(t, host+"/**")}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := policy.NewEngine(policies, blockingChecker{}, policy.Options{NoMatch: policy.NoMatchDeny})
	if err != nil {
		t.Fatal(err)
	}
	pt := &policyTester{engine: engine, client: oci.New(oci.Options{}), stderr: io.Discard, timeout: 300 * time.Millisecond}
	rep := pt.run(context.Background(), nil, []string{digest})
	if rep.Allowed || len(rep.Images) != 1 {
		t.Fatalf("report %+v", rep)
	}
	if errs := strings.Join(rep.Images[0].Errors, "\n"); !strings.Contains(errs, "no decision within --timeout 300ms") {
		t.Errorf("errors %q do not say the decision timed out", errs)
	}
}
