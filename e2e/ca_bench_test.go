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
// clients, in the same run. Both trust the same OIDC issuer, signet's dev
// issuer, and answer the same requests: a token for an email identity and
// a fresh P-256 key per certificate, prepared before the clock starts. It
// reports certificates/s, p50/p99 latency and the server's CPU per
// certificate.
//
// The two do not do the same work: signet's CA embeds an SCT, so each
// certificate also costs a precertificate signature, a durable append to
// its CT log and the SCT signature, while Fulcio runs with its ephemeral
// CA and no CT log (it has none to talk to here; with one it would add an
// HTTP round trip to the log per certificate). The comparison is thus
// signet's whole issuance against Fulcio's cheapest.
func BenchmarkCAPeer(b *testing.B) {
	signet, err := startServer(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = signet.stop() })
	fulcio := startFulcio(b, signet.url)
	for _, peer := range []*server{signet, fulcio} {
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
					cpu0 := peer.cpu(b)
					benchutil.RunClients(b, clients, "certs", func(i int) error {
						return postCertRequest(client, peer.url, bodies[i])
					})
					b.ReportMetric(float64((peer.cpu(b)-cpu0).Microseconds())/float64(b.N), "server-cpu-µs/op")
				})
			}
		})
	}
}

// startFulcio starts Fulcio with an ephemeral CA, no CT log and the dev
// issuer of the signet server at signetURL as its only (email) OIDC
// issuer, and waits until it serves its trust bundle; the benchmark's
// cleanup stops it.
func startFulcio(b *testing.B, signetURL string) *server {
	issuer := signetURL + "/oidc"
	script, err := filepath.Abs(filepath.Join("..", "scripts", "fulcio-build.sh"))
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	paths, err := runBuildScript(script, "FULCIO")
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("fulcio ready in %s", time.Since(start).Round(time.Millisecond))
	dir := b.TempDir()
	cfg, err := json.Marshal(map[string]any{"OIDCIssuers": map[string]any{
		issuer: map[string]any{"IssuerURL": issuer, "ClientID": "sigstore", "Type": "email"},
	}})
	if err != nil {
		b.Fatal(err)
	}
	cfgFile := writeFile(b, dir, "config.json", cfg)
	httpPort, grpcPort, metricsPort := freeport.Get(b), freeport.Get(b), freeport.Get(b)
	args := []string{"serve", "--ca=ephemeralca", "--ct-log-url=", "--log_type=prod",
		"--config-path=" + cfgFile,
		"--host=127.0.0.1", "--port=" + strconv.Itoa(httpPort),
		"--grpc-host=127.0.0.1", "--grpc-port=" + strconv.Itoa(grpcPort),
		"--metrics-port=" + strconv.Itoa(metricsPort),
		"--legacy-unix-domain-socket=" + filepath.Join(dir, "legacy.sock"),
	}
	b.Logf("fulcio %s", strings.Join(args, " "))
	cmd := exec.Command(paths["FULCIO"], args...)
	s := &server{name: "fulcio", url: fmt.Sprintf("http://127.0.0.1:%d", httpPort), cmd: cmd, done: make(chan error, 1), log: &lockedBuffer{}}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		b.Fatalf("start fulcio: %v", err)
	}
	go func() { s.done <- cmd.Wait() }()
	b.Cleanup(func() {
		if err := s.stop(); err != nil {
			b.Logf("fulcio: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(b.Context(), 30*time.Second)
	defer cancel()
	if err := pollOK(ctx, s.url+"/api/v2/trustBundle"); err != nil {
		b.Fatalf("fulcio did not start: %v\n%s", err, s.log.String())
	}
	// One certificate before the clock starts: the issuer is discovered
	// and its keys fetched on the first token.
	if err := postCertRequest(http.DefaultClient, s.url, certRequest(b, devTokenFrom(b, signetURL, "bench@example.com"), "bench@example.com")); err != nil {
		b.Fatalf("fulcio: %v\n%s", err, s.log.String())
	}
	return s
}

// devTokenFrom returns an email token from the dev issuer of the signet
// server at serverURL, valid for an hour.
func devTokenFrom(b *testing.B, serverURL, email string) string {
	b.Helper()
	out, err := exec.CommandContext(b.Context(), env.signetBin, "dev", "token", "--server", serverURL, "--email", email, "--ttl", "1h").Output()
	if err != nil {
		b.Fatalf("signet dev token: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// certRequest returns a /api/v2/signingCert request for a fresh P-256 key
// with its proof of possession (the signed token subject).
func certRequest(b *testing.B, token, subject string) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte(subject))
	pop, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	body, err := json.Marshal(map[string]any{
		"credentials": map[string]any{"oidcIdentityToken": token},
		"publicKeyRequest": map[string]any{
			"publicKey":         map[string]any{"algorithm": "ECDSA", "content": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))},
			"proofOfPossession": base64.StdEncoding.EncodeToString(pop),
		},
	})
	if err != nil {
		b.Fatal(err)
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
