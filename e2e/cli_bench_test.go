//go:build e2e

package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkCLIStart runs short CLI commands as whole processes, as a user
// meets them, hyperfine-style: signet, cosign v3 and cosign v2 in turn,
// b.N runs each, reporting the minimum and median wall time per program
// and cosign's median over signet's. "version" is the start-up cost alone;
// "verify-blob" adds reading a small keyless bundle (signet's CA and
// Rekor v1 log, which both cosign versions verify) and checking it against
// a trusted_root.json file: certificate chain, SCT, identity, log entry.
// Each command's output is checked on every run. Package initialisation
// is reported too, as the sum of GODEBUG=inittrace=1's clock times
// (median of 5 runs of `version`).
//
//	SIGNET_SHARED=$PWD/../shared go test -tags e2e -run '^$' -bench BenchmarkCLIStart -benchtime=30x ./e2e/
func BenchmarkCLIStart(b *testing.B) {
	dir := b.TempDir()
	tr := fetchTrust(b, dir)
	token := writeFile(b, dir, "token", []byte(devToken(b, "--email", "alice@example.com")))
	art := writeFile(b, dir, "artifact.txt", []byte("a small artifact\n"))
	bundle := filepath.Join(dir, "artifact.sigstore.json")
	if res := runSignet(b, "sign-blob", art, "--bundle", bundle, "--identity-token", token, "--rekor-version", "1"); res.err != nil {
		b.Fatalf("signet sign-blob: %v\n%s", res.err, res.out)
	}
	identity := []string{"--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", env.oidcIssuer}
	cosignVerify := append([]string{"verify-blob", "--bundle", bundle, "--new-bundle-format", "--trusted-root", tr.trustedRoot}, identity...)
	cosignVerify = append(cosignVerify, art)

	type program struct {
		name string
		bin  string
		args []string
		want string // printed on success
	}
	for _, c := range []struct {
		name  string
		progs []program
	}{
		{"version", []program{
			{"signet", env.signetBin, []string{"version"}, "GoVersion:"},
			{"cosign-v3", env.cosignV3, []string{"version"}, "GoVersion:"},
			{"cosign-v2", env.cosignV2, []string{"version"}, "GoVersion:"},
		}},
		{"verify-blob", []program{
			{"signet", env.signetBin, append([]string{"verify-blob", art, "--bundle", bundle, "--trusted-root", tr.trustedRoot}, identity...), "Verified OK"},
			{"cosign-v3", env.cosignV3, cosignVerify, "Verified OK"},
			{"cosign-v2", env.cosignV2, cosignVerify, "Verified OK"},
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			home := b.TempDir()
			times := make([][]time.Duration, len(c.progs))
			for b.Loop() {
				for i, p := range c.progs {
					d, out, err := timeProcess(home, nil, p.bin, p.args...)
					if err != nil || !strings.Contains(out, p.want) {
						b.Fatalf("%s %s: %v\n%s", p.name, strings.Join(p.args, " "), err, out)
					}
					times[i] = append(times[i], d)
				}
			}
			p50 := make([]float64, len(c.progs))
			for i, p := range c.progs {
				slices.Sort(times[i])
				p50[i] = ms(times[i][len(times[i])/2])
				b.ReportMetric(ms(times[i][0]), p.name+"-min-ms")
				b.ReportMetric(p50[i], p.name+"-p50-ms")
				if i > 0 {
					b.ReportMetric(p50[i]/p50[0], p.name+"/signet-p50")
				}
			}
			if c.name == "version" {
				for _, p := range c.progs {
					b.ReportMetric(initMillis(b, home, p.bin), p.name+"-init-ms")
				}
			}
		})
	}
}

// timeProcess runs bin with args and returns its wall time and output.
// HOME is home; proxies point at a closed port, so that nothing reaches
// the network unnoticed.
func timeProcess(home string, extraEnv []string, bin string, args ...string) (time.Duration, string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TMPDIR=" + home,
		"HTTP_PROXY=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9",
		"http_proxy=http://127.0.0.1:9", "https_proxy=http://127.0.0.1:9",
	}, extraEnv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	return time.Since(start), out.String(), err
}

// initMillis is the median over 5 runs of `bin version` of the total
// package initialisation time that GODEBUG=inittrace=1 reports.
func initMillis(b *testing.B, home, bin string) float64 {
	b.Helper()
	var totals []float64
	for range 5 {
		_, out, err := timeProcess(home, []string{"GODEBUG=inittrace=1"}, bin, "version")
		if err != nil {
			b.Fatalf("%s version: %v\n%s", bin, err, out)
		}
		var total float64
		for line := range strings.Lines(out) {
			// init PKG @T ms, D ms clock, N bytes, M allocs
			f := strings.Fields(line)
			if len(f) < 7 || f[0] != "init" || f[6] != "clock," {
				continue
			}
			d, err := strconv.ParseFloat(f[4], 64)
			if err != nil {
				b.Fatalf("inittrace line %q: %v", line, err)
			}
			total += d
		}
		if total == 0 {
			b.Fatalf("%s printed no inittrace:\n%s", bin, out)
		}
		totals = append(totals, total)
	}
	slices.Sort(totals)
	return totals[len(totals)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
