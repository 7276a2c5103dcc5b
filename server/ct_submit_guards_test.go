package server_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ct "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"

	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/server"
	"github.com/signetproject/signet/server/servertest"
)

// TestCTSubmissionDeduplicated: another CA's precertificate submitted
// again, with or without its root and by racing clients, gets an SCT
// (checked by certificate-transparency-go's client and verifier) for the
// one entry the log holds, which the data tile carries with that SCT's
// timestamp and index; the next certificate is the next entry.
func TestCTSubmissionDeduplicated(t *testing.T) {
	ext := newExternalCA(t, "external CA")
	inst := servertest.Start(t, func(o *server.Options) { o.CTRootsFile = writeRoots(t, ext.chain[1]) })
	logKey := ctLogKey(t, inst.URL)
	log := newRFC6962Log(t, inst.URL, logKey)
	var c preCapture
	if _, err := ext.ca.IssueWithSCTs(t.Context(), ext.identity(0), newLeafKey(t), &c); c.pre == nil {
		t.Fatalf("capture precertificate: %v", err)
	}
	chains := [][]*x509.Certificate{{c.pre, ext.chain[0], ext.chain[1]}, {c.pre, ext.chain[0]}}
	const n = 8
	scts, errs := make([]*ct.SignedCertificateTimestamp, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { scts[i], errs[i] = log.c.AddPreChain(t.Context(), asn1Certs(chains[i%2])) })
	}
	wg.Wait()
	again, err := log.c.AddPreChain(t.Context(), asn1Certs(chains[0]))
	if err != nil {
		t.Fatal(err)
	}
	scts = append(scts, again)
	for i, sct := range scts {
		if i < n && errs[i] != nil {
			t.Fatalf("submission %d: %v", i, errs[i])
		}
		if idx := checkSCT(t, sct, logKey, false, c.pre, ext.chain[0]); idx != 0 || sct.Timestamp != scts[0].Timestamp {
			t.Fatalf("submission %d: entry %d at %d, want entry 0 at %d", i, idx, sct.Timestamp, scts[0].Timestamp)
		}
	}
	parsed := make([]*ctx509.Certificate, 2)
	for i, cert := range chains[1] {
		if parsed[i], err = ctx509.ParseCertificate(cert.Raw); err != nil {
			t.Fatal(err)
		}
	}
	leaf, err := ct.MerkleTreeLeafFromChain(parsed, ct.PrecertLogEntryType, scts[0].Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	leaf.TimestampedEntry.Extensions = scts[0].Extensions
	entry, err := tls.Marshal(*leaf.TimestampedEntry)
	if err != nil {
		t.Fatal(err)
	}
	if tile := ctDataTile(t, inst.URL, 1); !bytes.HasPrefix(tile, entry) {
		t.Fatal("the data tile's first entry is not the one the SCTs promise")
	}
	cert, err := ext.ca.IssueWithSCTs(t.Context(), ext.identity(1), newLeafKey(t), log)
	if err != nil {
		t.Fatal(err)
	}
	if idx := embeddedSCT(t, cert, ext.chain[0], logKey); idx != 1 {
		t.Fatalf("the next certificate is entry %d, want 1", idx)
	}
}

// TestCTSubmissionNotAfter: an expired certificate is refused with a 400
// naming its expiry; with a NotAfter window ending now, every certificate
// another CA submits is refused, while the server's own CA, which logs
// in-process, still issues.
func TestCTSubmissionNotAfter(t *testing.T) {
	ext := newExternalCA(t, "external CA")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "expired"},
		NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: time.Now().Add(-time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ext.chain[0], key.Public(), ext.interKey)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := ext.ca.Issue(ext.identity(0), newLeafKey(t))
	if err != nil {
		t.Fatal(err)
	}
	addChain := func(url string, chain ...*x509.Certificate) (int, string) {
		status, body, _ := postCTChain(t, url, "add-chain", chain...)
		return status, body
	}

	inst := servertest.Start(t, func(o *server.Options) { o.CTRootsFile = writeRoots(t, ext.chain[1]) })
	if status, body := addChain(inst.URL, expired, ext.chain[0]); status != http.StatusBadRequest || !strings.Contains(body, "certificate expired at") {
		t.Fatalf("expired certificate: %d %q, want 400 naming its expiry", status, body)
	}
	if status, body := addChain(inst.URL, fresh, ext.chain[0]); status != http.StatusOK {
		t.Fatalf("unexpired certificate: %d %q", status, body)
	}

	windowed := servertest.Start(t, func(o *server.Options) {
		o.CTRootsFile, o.CTNotAfterLimit = writeRoots(t, ext.chain[1]), time.Now()
	})
	if status, body := addChain(windowed.URL, fresh, ext.chain[0]); status != http.StatusBadRequest || !strings.Contains(body, "NotAfter window ends") {
		t.Fatalf("certificate expiring after the window: %d %q, want 400 naming the window", status, body)
	}
	tok, err := windowed.Server.DevIssuer().Mint(oidc.TokenRequest{Email: "alice@example.com"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	csrPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr})
	body := `{"credentials":{"oidcIdentityToken":"` + tok + `"},"certificateSigningRequest":"` + base64.StdEncoding.EncodeToString(csrPEM) + `"}`
	if status, data, _ := post(t, windowed.URL+"/api/v2/signingCert", body, nil); status != http.StatusOK {
		t.Fatalf("the server's own CA with a NotAfter window: %d %s", status, data)
	}
}

// TestCTSubmissionRate: with --ct-submission-rate, a submission beyond
// the rate is answered 429 with a Retry-After that names when the next
// one is taken.
func TestCTSubmissionRate(t *testing.T) {
	ext := newExternalCA(t, "external CA")
	inst := servertest.Start(t, func(o *server.Options) {
		o.CTRootsFile, o.CTSubmissionRate = writeRoots(t, ext.chain[1]), 0.2
	})
	cert, err := ext.ca.Issue(ext.identity(0), newLeafKey(t))
	if err != nil {
		t.Fatal(err)
	}
	if status, body, _ := postCTChain(t, inst.URL, "add-chain", cert, ext.chain[0]); status != http.StatusOK {
		t.Fatalf("first submission: %d %q", status, body)
	}
	status, body, header := postCTChain(t, inst.URL, "add-pre-chain", cert, ext.chain[0])
	if status != http.StatusTooManyRequests || !strings.Contains(body, "at most 0.2 submissions a second") {
		t.Fatalf("second submission: %d %q, want 429 naming the rate", status, body)
	}
	if n, err := strconv.Atoi(header.Get("Retry-After")); err != nil || n < 1 || n > 5 {
		t.Fatalf("Retry-After %q, want 1 to 5 seconds", header.Get("Retry-After"))
	}
}

// postCTChain posts chain to the CT log's submission endpoint path
// (add-chain or add-pre-chain).
func postCTChain(t *testing.T, url, path string, chain ...*x509.Certificate) (int, string, http.Header) {
	t.Helper()
	var parts []string
	for _, c := range chain {
		parts = append(parts, `"`+base64.StdEncoding.EncodeToString(c.Raw)+`"`)
	}
	resp, err := http.Post(url+"/ct/ct/v1/"+path, "application/json", strings.NewReader(`{"chain":[`+strings.Join(parts, ",")+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

// TestCTOptionsRejected: an empty NotAfter window or a negative
// submission rate stops the server from starting.
func TestCTOptionsRejected(t *testing.T) {
	now := time.Now()
	for _, tt := range []struct {
		name   string
		adjust func(*server.Options)
		want   string
	}{
		{"empty NotAfter window", func(o *server.Options) { o.CTNotAfterStart, o.CTNotAfterLimit = now, now }, "is not before its limit"},
		{"negative submission rate", func(o *server.Options) { o.CTSubmissionRate = -1 }, "CT submission rate -1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := server.Options{DataDir: t.TempDir(), BaseURL: "http://127.0.0.1:1", InsecureDevIssuer: true}
			tt.adjust(&o)
			if _, err := server.New(o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
