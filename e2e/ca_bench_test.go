//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signetproject/signet/internal/benchutil"
	"github.com/signetproject/signet/internal/freeport"
)

// BenchmarkCAPeer measures keyless certificate issuance over HTTP (POST
// /api/v2/signingCert: OIDC token check, proof of possession, certificate
// signing) on signet and on Sigstore's own CA, Fulcio (built from the Go
// module proxy by scripts/fulcio-build.sh), with 1, 16 and 256 concurrent
// clients, in the same run. All trust the same OIDC issuer, signet's dev
// issuer, and answer the same requests: a token for an email identity and
// a fresh P-256 key per certificate, prepared before the clock starts. It
// reports certificates/s, p50/p99 latency and the server's CPU per
// certificate. Three peers:
//
//   - signet: signet's CA, which embeds an SCT from its own CT log
//     in-process: a precertificate signature, a durable append to the CT
//     log (the SCT waits for its batch to be sequenced) and the SCT
//     signature, then the certificate signature.
//   - fulcio: Fulcio with its ephemeral CA and no CT log (--ct-log-url=):
//     no precertificate, no SCT, so less work than signet does; Fulcio's
//     cheapest issuance.
//   - fulcio+signet-ct: Fulcio (file CA with a root made here, which
//     signet's CT log accepts through --ct-roots) logging each
//     precertificate to signet's CT log over RFC 6962 add-pre-chain and
//     checking the SCT's signature with the log's key, as Sigstore runs
//     it: the same work as signet, plus an HTTP round trip to the
//     log. Its server CPU is Fulcio's and signet's together; the CT log's
//     work is the same code on both signet paths.
func BenchmarkCAPeer(b *testing.B) {
	fileCA := newFulcioFileCA(b)
	signet, err := startServer(b.TempDir(), "--ct-roots", fileCA.rootPath)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = signet.stop() })
	// One certificate before the clock starts, as startFulcio issues one.
	if err := postCertRequest(http.DefaultClient, signet.url, certRequest(b, devTokenFrom(b, signet.url, "bench@example.com"), "bench@example.com")); err != nil {
		b.Fatalf("signet: %v", err)
	}
	fulcio := startFulcio(b, "fulcio", signet.url, "--ca=ephemeralca", "--ct-log-url=")
	fulcioCT := startFulcio(b, "fulcio+signet-ct", signet.url, append(fileCA.args(), signetCTArgs(b, signet.url)...)...)
	for _, peer := range []struct {
		name  string
		url   string
		procs []*server // whose CPU the certificates cost
	}{
		{"signet", signet.url, []*server{signet}},
		{fulcio.name, fulcio.url, []*server{fulcio}},
		{fulcioCT.name, fulcioCT.url, []*server{fulcioCT, signet}},
	} {
		cpu := func(b *testing.B) (d time.Duration) {
			for _, p := range peer.procs {
				d += p.cpu(b)
			}
			return d
		}
		b.Run(peer.name, func(b *testing.B) {
			for _, clients := range []int{1, 16, 256} {
				b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
					token := devTokenFrom(b, signet.url, "bench@example.com")
					client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
					b.Cleanup(client.CloseIdleConnections)
					bodies := make([][]byte, b.N)
					for i := range bodies {
						bodies[i] = certRequest(b, token, "bench@example.com")
					}
					cpu0 := cpu(b)
					benchutil.RunClients(b, clients, "certs", func(i int) error {
						return postCertRequest(client, peer.url, bodies[i])
					})
					b.ReportMetric(float64((cpu(b)-cpu0).Microseconds())/float64(b.N), "server-cpu-µs/op")
				})
			}
		})
	}
}

// startFulcio starts Fulcio named name with caArgs (its CA and CT log
// flags) and the dev issuer of the signet server at signetURL as its only
// (email) OIDC issuer, waits until it serves its trust bundle and issues
// one certificate; the test's cleanup stops it.
func startFulcio(tb testing.TB, name, signetURL string, caArgs ...string) *server {
	tb.Helper()
	s := launchFulcio(tb, name, signetURL, caArgs...)
	// One certificate before the clock starts: the issuer is discovered
	// and its keys fetched on the first token.
	if err := postCertRequest(http.DefaultClient, s.url, certRequest(tb, devTokenFrom(tb, signetURL, "bench@example.com"), "bench@example.com")); err != nil {
		tb.Fatalf("%s: %v\n%s", name, err, s.log.String())
	}
	return s
}

// launchFulcio is startFulcio without the first certificate.
func launchFulcio(tb testing.TB, name, signetURL string, caArgs ...string) *server {
	tb.Helper()
	issuer := signetURL + "/oidc"
	script, err := filepath.Abs(filepath.Join("..", "scripts", "fulcio-build.sh"))
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	paths, err := runBuildScript(script, "FULCIO")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Logf("fulcio ready in %s", time.Since(start).Round(time.Millisecond))
	dir := tb.TempDir()
	cfg, err := json.Marshal(map[string]any{"OIDCIssuers": map[string]any{
		issuer: map[string]any{"IssuerURL": issuer, "ClientID": "sigstore", "Type": "email"},
	}})
	if err != nil {
		tb.Fatal(err)
	}
	cfgFile := writeFile(tb, dir, "config.json", cfg)
	httpPort, grpcPort, metricsPort := freeport.Get(tb), freeport.Get(tb), freeport.Get(tb)
	args := append(slices.Clip(caArgs), "--log_type=prod",
		"--config-path="+cfgFile,
		"--host=127.0.0.1", "--port="+strconv.Itoa(httpPort),
		"--grpc-host=127.0.0.1", "--grpc-port="+strconv.Itoa(grpcPort),
		"--metrics-port="+strconv.Itoa(metricsPort),
		"--legacy-unix-domain-socket="+filepath.Join(dir, "legacy.sock"),
	)
	args = append([]string{"serve"}, args...)
	tb.Logf("%s: fulcio %s", name, strings.Join(args, " "))
	cmd := exec.Command(paths["FULCIO"], args...)
	s := &server{name: name, url: fmt.Sprintf("http://127.0.0.1:%d", httpPort), cmd: cmd, done: make(chan error, 1), log: &lockedBuffer{}}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
	go func() { s.done <- cmd.Wait() }()
	tb.Cleanup(func() {
		if err := s.stop(); err != nil {
			tb.Logf("%s: %v", name, err)
		}
	})
	ctx, cancel := context.WithTimeout(tb.Context(), 30*time.Second)
	defer cancel()
	if err := pollOK(ctx, s.url+"/api/v2/trustBundle"); err != nil {
		tb.Fatalf("%s did not start: %v\n%s", name, err, s.log.String())
	}
	return s
}

// devTokenFrom returns an email token from the dev issuer of the signet
// server at serverURL, valid for an hour.
func devTokenFrom(tb testing.TB, serverURL, email string) string {
	tb.Helper()
	out, err := exec.CommandContext(tb.Context(), env.signetBin, "dev", "token", "--server", serverURL, "--email", email, "--ttl", "1h").Output()
	if err != nil {
		tb.Fatalf("signet dev token: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// certRequest returns a /api/v2/signingCert request for a fresh P-256 key
// with its proof of possession (the signed token subject).
func certRequest(tb testing.TB, token, subject string) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		tb.Fatal(err)
	}
	digest := sha256.Sum256([]byte(subject))
	pop, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		tb.Fatal(err)
	}
	body, err := json.Marshal(map[string]any{
		"credentials": map[string]any{"oidcIdentityToken": token},
		"publicKeyRequest": map[string]any{
			"publicKey":         map[string]any{"algorithm": "ECDSA", "content": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))},
			"proofOfPossession": base64.StdEncoding.EncodeToString(pop),
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

// postCertRequest asks the CA at url for a certificate and checks that the
// answer holds a chain.
func postCertRequest(client *http.Client, url string, body []byte) error {
	resp, err := client.Post(url+"/api/v2/signingCert", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("signingCert: %s: %.300s", resp.Status, data)
	}
	if !bytes.Contains(data, []byte("-----BEGIN CERTIFICATE-----")) {
		return fmt.Errorf("signingCert: no certificate in %.300s", data)
	}
	return nil
}
