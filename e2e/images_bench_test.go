//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"
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
	tr := fetchTrust(b, dir)
	rekorKey := writeFile(b, dir, "rekor.pub", httpGet(b, "/api/v1/log/publicKey"))
	token := writeFile(b, dir, "token", []byte(devToken(b, "--email", "alice@example.com")))

	d := pushRandomImage(b, startInProcessRegistry(b)+"/bench")
	ref := d.String()
	if res := runSignet(b, "sign", ref, "--registry-layout", "legacy", "--identity-token", token); res.err != nil {
		b.Fatalf("signet sign: %v\n%s", res.err, res.out)
	}

	identity := []string{"--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", env.oidcIssuer}
	for _, c := range []struct {
		name string
		run  func(testing.TB) cosignResult
	}{
		{"signet", func(tb testing.TB) cosignResult {
			return runSignet(tb, append([]string{"verify", ref, "--trusted-root", tr.trustedRoot}, identity...)...)
		}},
		{"cosign-v3", func(tb testing.TB) cosignResult {
			return runCosign(tb, env.cosignV3, nil, append([]string{"verify", "--trusted-root", tr.trustedRoot, ref}, identity...)...)
		}},
		{"cosign-v2", func(tb testing.TB) cosignResult {
			return runCosign(tb, env.cosignV2, []string{"SIGSTORE_ROOT_FILE=" + tr.chainPEM, "SIGSTORE_REKOR_PUBLIC_KEY=" + rekorKey, "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE=" + tr.ctKey},
				append([]string{"verify", ref}, identity...)...)
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			// CPU time of the verifier process, less sensitive than wall
			// time to other load on the machine.
			var cpu time.Duration
			for b.Loop() {
				res := c.run(b)
				if res.err != nil {
					b.Fatalf("%v\n%s", res.err, res.out)
				} else if !strings.Contains(res.printed(), d.DigestStr()) {
					b.Fatalf("%s printed no verified payload for %s:\n%s", c.name, d.DigestStr(), res.out)
				}
				cpu += res.cpu
			}
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}
