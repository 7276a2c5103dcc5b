//go:build e2e

package e2e

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// BenchmarkImageVerify verifies one keyless-signed image in a local
// registry with signet and with both cosign versions, each run as a
// process (so each pays its start-up), against the same signature: signet
// signs in the legacy layout with a Rekor v1 entry and a timestamp, the
// one format all three verify. Every run checks the certificate chain,
// the identity, the log entry's signed entry timestamp and the payload.
//
//	SIGNET_SHARED=$PWD/../shared go test -tags e2e -run '^$' -bench BenchmarkImageVerify -benchtime=20x ./e2e/
func BenchmarkImageVerify(b *testing.B) {
	dir := b.TempDir()
	get := func(path, file string) string {
		resp, err := http.Get(env.serverURL + path)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %s %v", path, resp.Status, err)
		}
		p := filepath.Join(dir, file)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			b.Fatal(err)
		}
		return p
	}
	trustedRoot := get("/trusted_root.json", "trusted_root.json")
	chain := get("/api/v1/rootCert", "chain.pem")
	rekorKey := get("/api/v1/log/publicKey", "rekor.pub")

	reg := httptest.NewServer(registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	img, err := random.Image(1024, 2)
	if err != nil {
		b.Fatal(err)
	}
	tag, err := name.NewTag(strings.TrimPrefix(reg.URL, "http://") + "/bench:v1")
	if err != nil {
		b.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		b.Fatal(err)
	}
	d, _ := img.Digest()
	ref := tag.Context().Digest(d.String()).String()

	signetEnv := append(os.Environ(), "SIGNET_SERVER="+env.serverURL, "SIGSTORE_ID_TOKEN=")
	token := filepath.Join(dir, "token")
	for _, args := range [][]string{
		{"dev", "token", "--email", "alice@example.com", "--out", token},
		{"sign", ref, "--registry-layout", "legacy", "--identity-token", token},
	} {
		cmd := exec.Command(env.signetBin, args...)
		cmd.Env = signetEnv
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("signet %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	identity := []string{"--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", env.oidcIssuer}
	cosignEnv := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir,
		"HTTP_PROXY=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9", // nothing leaves the machine
	}
	for _, c := range []struct {
		name string
		bin  string
		args []string
		env  []string
	}{
		{"signet", env.signetBin, append([]string{"verify", ref, "--trusted-root", trustedRoot}, identity...), signetEnv},
		{"cosign-v3", env.cosignV3, append([]string{"verify", "--trusted-root", trustedRoot, "--insecure-ignore-sct", ref}, identity...), cosignEnv},
		{"cosign-v2", env.cosignV2, append([]string{"verify", "--insecure-ignore-sct", ref}, identity...),
			append(cosignEnv, "SIGSTORE_ROOT_FILE="+chain, "SIGSTORE_REKOR_PUBLIC_KEY="+rekorKey)},
	} {
		b.Run(c.name, func(b *testing.B) {
			// CPU time of the verifier process, less sensitive than wall
			// time to other load on the machine.
			var cpu time.Duration
			for b.Loop() {
				cmd := exec.CommandContext(b.Context(), c.bin, c.args...)
				cmd.Env = c.env
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%s %s: %v\n%s", c.name, strings.Join(c.args, " "), err, out)
				} else if !strings.Contains(string(out), d.String()) {
					b.Fatalf("%s printed no verified payload for %s:\n%s", c.name, d, out)
				}
				cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			}
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}
