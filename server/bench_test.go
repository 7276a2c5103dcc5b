package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/signetproject/signet/ca"
	"github.com/signetproject/signet/ctlog"
	"github.com/signetproject/signet/internal/benchutil"
	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/server/servertest"
	"github.com/signetproject/signet/tlog/storage"
)

// BenchmarkIssue measures full HTTP round trips of POST /api/v2/signingCert
// against a running server: dev token verification, ECDSA P-256 proof of
// possession, certificate issuance and JSON encoding.
func BenchmarkIssue(b *testing.B) {
	inst := servertest.Start(b)
	tok, err := inst.Server.DevIssuer().Mint(oidc.TokenRequest{Email: "bench@example.com", TTL: time.Hour}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256([]byte("bench@example.com"))
	pop, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
	if err != nil {
		b.Fatal(err)
	}
	body, err := json.Marshal(map[string]any{
		"credentials": map[string]any{"oidcIdentityToken": tok},
		"publicKeyRequest": map[string]any{
			"publicKey":         map[string]any{"algorithm": "ECDSA", "content": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))},
			"proofOfPossession": pop,
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	url := inst.URL + "/api/v2/signingCert"

	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(url, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("signingCert: %s: %s", resp.Status, data)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "certs/s")
}

// BenchmarkCAIssue measures issuing one leaf certificate with an ECDSA
// P-256 intermediate, without an SCT (ca.CA.Issue) and with one embedded
// from signet's CT log on POSIX storage (ca.CA.IssueWithSCTs: precertificate,
// durable sequencing in Tessera, SCT, final certificate), in the same run,
// without an SCT with 64 concurrent issuers per CPU as a busy CA has, and
// with one at 1, 16 and 128 concurrent issuers.
func BenchmarkCAIssue(b *testing.B) {
	rootKey, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		b.Fatal(err)
	}
	interKey, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		b.Fatal(err)
	}
	chain, err := ca.NewHierarchy("bench", rootKey, interKey, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	authority, err := ca.New(interKey, chain)
	if err != nil {
		b.Fatal(err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	id := oidc.Identity{Issuer: "https://token.actions.githubusercontent.com", Challenge: "repo:octo/app:ref:refs/heads/main",
		URI: "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main",
		Build: oidc.BuildClaims{BuildSignerURI: "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main",
			SourceRepositoryURI: "https://github.com/octo/app", SourceRepositoryRef: "refs/heads/main", BuildTrigger: "push"}}
	ctKey, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	driver, err := storage.NewPOSIX(context.Background(), dir)
	if err != nil {
		b.Fatal(err)
	}
	ct, err := ctlog.New(context.Background(), driver, ctlog.NewDirIssuers(dir), "bench/ct", ctKey, chain[1:], ctlog.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = ct.Close(context.Background()) })

	b.Run("without SCT", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(64)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := authority.Issue(id, leafKey.Public()); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "certs/s")
	})
	// With an SCT, a certificate waits for a durable write: a lone issuer
	// measures its latency, more issuers how writes are batched.
	for _, clients := range []int{1, 16, 128} {
		b.Run(fmt.Sprintf("with SCT/clients=%d", clients), func(b *testing.B) {
			b.ReportAllocs()
			benchutil.RunClients(b, clients, "certs", func(int) error {
				_, err := authority.IssueWithSCTs(context.Background(), id, leafKey.Public(), ct)
				return err
			})
		})
	}
}
