package server_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ct "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/client"
	"github.com/google/certificate-transparency-go/ctutil"
	"github.com/google/certificate-transparency-go/jsonclient"
	"github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	"github.com/google/certificate-transparency-go/x509util"
	f_log "github.com/transparency-dev/formats/log"

	"github.com/signetproject/signet/ca"
	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/server"
	"github.com/signetproject/signet/server/servertest"
	"github.com/signetproject/signet/trustroot"
)

// externalCA is a CA other than the server's, as a Fulcio would be.
type externalCA struct {
	ca       *ca.CA
	chain    []*x509.Certificate // intermediate, root
	interKey crypto.Signer
}

func newExternalCA(t *testing.T, name string) externalCA {
	t.Helper()
	rootKey, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	interKey, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := ca.NewHierarchy(name, rootKey, interKey, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, err := ca.New(interKey, chain)
	if err != nil {
		t.Fatal(err)
	}
	return externalCA{ca: c, chain: chain, interKey: interKey}
}

func (e externalCA) identity(i int) oidc.Identity {
	email := fmt.Sprintf("user%d@example.com", i)
	return oidc.Identity{Issuer: "https://issuer.example", Challenge: email, Email: email}
}

func newLeafKey(t *testing.T) crypto.PublicKey {
	t.Helper()
	k, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	return k.Public()
}

// writeRoots writes certs as a PEM file for Options.CTRootsFile.
func writeRoots(t *testing.T, certs ...*x509.Certificate) string {
	t.Helper()
	var buf bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	p := filepath.Join(t.TempDir(), "ct-roots.pem")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// ctLogKey returns the CT log key the server's trusted_root.json lists.
func ctLogKey(t *testing.T, url string) crypto.PublicKey {
	t.Helper()
	tr, err := trustroot.LoadTrustedRoot(get(t, url+"/trusted_root.json"))
	if err != nil || len(tr.CTLogs) != 1 {
		t.Fatalf("trusted root: %v", err)
	}
	return tr.CTLogs[0].PublicKey
}

// rfc6962Log is a ca.CTLog reached over RFC 6962 add-pre-chain with
// certificate-transparency-go's client, which checks each SCT's signature
// with the log's key, as Fulcio's does. It remembers the last
// precertificate, and leaves the root out of the chain when dropRoot.
type rfc6962Log struct {
	c        *client.LogClient
	dropRoot bool
	pre      *x509.Certificate
}

func newRFC6962Log(t *testing.T, url string, logKey crypto.PublicKey) *rfc6962Log {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(logKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(url+"/ct", &http.Client{Timeout: time.Minute}, jsonclient.Options{PublicKeyDER: der})
	if err != nil {
		t.Fatal(err)
	}
	return &rfc6962Log{c: c}
}

func (l *rfc6962Log) AddPreChain(ctx context.Context, chain []*x509.Certificate) ([]byte, error) {
	l.pre = chain[0]
	if l.dropRoot {
		chain = chain[:len(chain)-1]
	}
	sct, err := l.c.AddPreChain(ctx, asn1Certs(chain))
	if err != nil {
		return nil, err
	}
	return tls.Marshal(*sct)
}

func asn1Certs(chain []*x509.Certificate) []ct.ASN1Cert {
	out := make([]ct.ASN1Cert, len(chain))
	for i, c := range chain {
		out[i] = ct.ASN1Cert{Data: c.Raw}
	}
	return out
}

// embeddedSCT checks cert's one embedded SCT with certificate-transparency-go
// against logKey and returns its leaf index.
func embeddedSCT(t *testing.T, cert, issuer *x509.Certificate, logKey crypto.PublicKey) uint64 {
	t.Helper()
	scts, err := x509util.ParseSCTsFromCertificate(cert.Raw)
	if err != nil || len(scts) != 1 {
		t.Fatalf("embedded SCTs: %v (%d)", err, len(scts))
	}
	return checkSCT(t, scts[0], logKey, true, cert, issuer)
}

// checkSCT verifies sct for chain (embedded: for the precertificate of
// chain[0]) and returns its leaf index.
func checkSCT(t *testing.T, sct *ct.SignedCertificateTimestamp, logKey crypto.PublicKey, embedded bool, chain ...*x509.Certificate) uint64 {
	t.Helper()
	var parsed []*ctx509.Certificate
	for _, c := range chain {
		p, err := ctx509.ParseCertificate(c.Raw)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, p)
	}
	if err := ctutil.VerifySCT(logKey, parsed, sct, embedded); err != nil {
		t.Fatalf("SCT does not verify against the CT log's key: %v", err)
	}
	ext := []byte(sct.Extensions)
	if len(ext) != 8 || ext[0] != 0 || ext[1] != 0 || ext[2] != 5 {
		t.Fatalf("SCT extensions %x are not one leaf_index", ext)
	}
	return uint64(ext[3])<<32 | uint64(ext[4])<<24 | uint64(ext[5])<<16 | uint64(ext[6])<<8 | uint64(ext[7])
}

// ctSize waits until the CT log's checkpoint covers size entries and
// returns the data tile holding the first 256.
func ctDataTile(t *testing.T, url string, size uint64) []byte {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var cp f_log.Checkpoint
		if _, err := cp.Unmarshal(get(t, url+"/ct/checkpoint")); err != nil {
			t.Fatal(err)
		}
		if cp.Size >= size {
			return get(t, fmt.Sprintf("%s/ct/tile/data/000.p/%d", url, cp.Size))
		}
		if time.Now().After(deadline) {
			t.Fatalf("CT checkpoint size %d, want %d", cp.Size, size)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCTSubmissionFromAnotherCA: a CA whose root --ct-roots lists logs
// into the server's CT log over RFC 6962, with certificate-transparency-go's
// client checking each SCT: precertificates (with and without the root in
// the chain) and a final certificate. The log publishes the entries and
// their issuers; its own CA's root stays accepted.
func TestCTSubmissionFromAnotherCA(t *testing.T) {
	ext := newExternalCA(t, "external CA")
	inst := servertest.Start(t, func(o *server.Options) { o.CTRootsFile = writeRoots(t, ext.chain[1]) })
	logKey := ctLogKey(t, inst.URL)
	log := newRFC6962Log(t, inst.URL, logKey)

	cert, err := ext.ca.IssueWithSCTs(t.Context(), ext.identity(0), newLeafKey(t), log)
	if err != nil {
		t.Fatalf("issue through add-pre-chain: %v", err)
	}
	if idx := embeddedSCT(t, cert, ext.chain[0], logKey); idx != 0 {
		t.Errorf("first entry at index %d", idx)
	}
	tile := ctDataTile(t, inst.URL, 1)
	if !bytes.Contains(tile, log.pre.Raw) {
		t.Error("the data tile does not hold the precertificate")
	}
	fp := sha256.Sum256(ext.chain[0].Raw)
	if got := get(t, inst.URL+"/ct/issuer/"+hex.EncodeToString(fp[:])); !bytes.Equal(got, ext.chain[0].Raw) {
		t.Error("the log does not serve the external CA's intermediate")
	}

	log.dropRoot = true
	cert2, err := ext.ca.IssueWithSCTs(t.Context(), ext.identity(1), newLeafKey(t), log)
	if err != nil {
		t.Fatalf("add-pre-chain without the root: %v", err)
	}
	if idx := embeddedSCT(t, cert2, ext.chain[0], logKey); idx != 1 {
		t.Errorf("second entry at index %d", idx)
	}

	sct, err := log.c.AddChain(t.Context(), asn1Certs([]*x509.Certificate{cert, ext.chain[0], ext.chain[1]}))
	if err != nil {
		t.Fatalf("add-chain: %v", err)
	}
	if idx := checkSCT(t, sct, logKey, false, cert, ext.chain[0]); idx != 2 {
		t.Errorf("add-chain entry at index %d", idx)
	}
	if tile := ctDataTile(t, inst.URL, 3); !bytes.Contains(tile, cert.Raw) {
		t.Error("the data tile does not hold the final certificate")
	}

	roots, err := log.c.GetAcceptedRoots(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	own := inst.Server.CAChain()
	if len(roots) != 2 || !bytes.Equal(roots[0].Data, own[len(own)-1].Raw) || !bytes.Equal(roots[1].Data, ext.chain[1].Raw) {
		t.Errorf("get-roots lists %d roots, want the server CA's and the external CA's", len(roots))
	}
}

// TestCTSubmissionRejects: hostile and wrong submissions get a 4xx naming
// the problem, and none of them becomes an entry.
func TestCTSubmissionRejects(t *testing.T) {
	ext, other := newExternalCA(t, "external CA"), newExternalCA(t, "unaccepted CA")
	inst := servertest.Start(t, func(o *server.Options) { o.CTRootsFile = writeRoots(t, ext.chain[1]) })
	pre := func(e externalCA) *x509.Certificate {
		var c preCapture
		if _, err := e.ca.IssueWithSCTs(t.Context(), e.identity(0), newLeafKey(t), &c); c.pre == nil {
			t.Fatalf("capture precertificate: %v", err)
		}
		return c.pre
	}
	extPre, otherPre := pre(ext), pre(other)
	final, err := ext.ca.Issue(ext.identity(0), newLeafKey(t))
	if err != nil {
		t.Fatal(err)
	}
	b64 := func(certs ...*x509.Certificate) string {
		var parts []string
		for _, c := range certs {
			parts = append(parts, `"`+base64.StdEncoding.EncodeToString(c.Raw)+`"`)
		}
		return `{"chain":[` + strings.Join(parts, ",") + `]}`
	}
	eleven := make([]*x509.Certificate, 11)
	for i := range eleven {
		eleven[i] = ext.chain[0]
	}
	huge := `{"chain":["` + strings.Repeat("A", 300<<10) + `"]}`
	tr, err := trustroot.LoadTrustedRoot(get(t, inst.URL+"/trusted_root.json"))
	if err != nil {
		t.Fatal(err)
	}
	own := tr.CertificateAuthorities[len(tr.CertificateAuthorities)-1]
	for _, tt := range []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"bad JSON", "add-pre-chain", `{"chain":`, 400, "not a JSON object"},
		{"JSON array", "add-pre-chain", `["x"]`, 400, "not a JSON object"},
		{"unknown field", "add-pre-chain", `{"chain":[],"chains":[]}`, 400, "unknown field"},
		{"data after the object", "add-pre-chain", b64(extPre, ext.chain[0], ext.chain[1]) + `{}`, 400, "data after its JSON object"},
		{"no chain", "add-pre-chain", `{}`, 400, "chain is missing or empty"},
		{"chain too long", "add-chain", b64(eleven...), 400, "11 certificates, at most 10"},
		{"bad base64", "add-pre-chain", `{"chain":["!!!"]}`, 400, "chain[0] is not standard base64"},
		{"URL base64", "add-pre-chain", `{"chain":["_-8"]}`, 400, "chain[0] is not standard base64"},
		{"not DER", "add-pre-chain", `{"chain":["aGVsbG8="]}`, 400, "chain[0] is not a DER X.509 certificate"},
		{"final certificate on add-pre-chain", "add-pre-chain", b64(final, ext.chain[0], ext.chain[1]), 400, "not a precertificate"},
		{"precertificate on add-chain", "add-chain", b64(extPre, ext.chain[0], ext.chain[1]), 400, "submit it with add-pre-chain"},
		{"unaccepted root", "add-pre-chain", b64(otherPre, other.chain[0], other.chain[1]), 400, "does not end in a root the log accepts"},
		{"unaccepted chain ending in an accepted root", "add-pre-chain", b64(otherPre, other.chain[0], ext.chain[1]), 400, "certificate 1 is not signed by certificate 2"},
		{"issuer left out", "add-pre-chain", b64(extPre, ext.chain[1]), 400, "certificate 0 is not signed by certificate 1"},
		{"body too large", "add-pre-chain", huge, 413, "exceeds"},
		// The server's own CA logs in-process; its certificates are public.
		{"own CA's intermediate", "add-chain", b64(own.Intermediates[0], own.Root), 400, "chain[0] is this server's own CA"},
		{"own CA's intermediate, root left out", "add-chain", b64(own.Intermediates[0]), 400, "chain[0] is this server's own CA"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(inst.URL+"/ct/ct/v1/"+tt.path, "application/json", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.want) {
				t.Fatalf("POST %s = %d %q, want %d saying %q", tt.path, resp.StatusCode, body, tt.status, tt.want)
			}
		})
	}
	if resp, err := http.Get(inst.URL + "/ct/ct/v1/add-pre-chain"); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET add-pre-chain: %v %v", resp.Status, err)
	}
	// None of them was logged: the next good submission is entry 0.
	resp, err := http.Post(inst.URL+"/ct/ct/v1/add-pre-chain", "application/json", strings.NewReader(b64(extPre, ext.chain[0], ext.chain[1])))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got ct.AddChainResponse
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("good submission: %s %v", resp.Status, err)
	}
	ext8, _ := base64.StdEncoding.DecodeString(got.Extensions)
	if !bytes.Equal(ext8, []byte{0, 0, 5, 0, 0, 0, 0, 0}) {
		t.Errorf("good submission after the rejected ones: extensions %x, want leaf_index 0", ext8)
	}
}

type preCapture struct{ pre *x509.Certificate }

func (c *preCapture) AddPreChain(_ context.Context, chain []*x509.Certificate) ([]byte, error) {
	c.pre = chain[0]
	return nil, fmt.Errorf("captured")
}

// TestCTSubmissionWithoutExtraRoots: without --ct-roots the CT log takes
// no submissions at all, neither from another CA nor of the server's own
// CA's chains; it still lists its roots.
func TestCTSubmissionWithoutExtraRoots(t *testing.T) {
	ext := newExternalCA(t, "external CA")
	inst := servertest.Start(t)
	log := newRFC6962Log(t, inst.URL, ctLogKey(t, inst.URL))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := ext.ca.IssueWithSCTs(ctx, ext.identity(0), newLeafKey(t), log)
	var rsp jsonclient.RspError
	if !errors.As(err, &rsp) || rsp.StatusCode != http.StatusForbidden || !strings.Contains(string(rsp.Body), "--ct-roots") {
		t.Fatalf("add-pre-chain from an unlisted CA: %v", err)
	}
	tr, err := trustroot.LoadTrustedRoot(get(t, inst.URL+"/trusted_root.json"))
	if err != nil {
		t.Fatal(err)
	}
	own := tr.CertificateAuthorities[len(tr.CertificateAuthorities)-1]
	if _, err := log.c.AddChain(ctx, asn1Certs([]*x509.Certificate{own.Intermediates[0], own.Root})); !errors.As(err, &rsp) || rsp.StatusCode != http.StatusForbidden {
		t.Fatalf("add-chain of the server's own CA: %v", err)
	}
	roots, err := log.c.GetAcceptedRoots(ctx)
	if err != nil || len(roots) != 1 || !bytes.Equal(roots[0].Data, own.Root.Raw) {
		t.Fatalf("get-roots = %d roots, %v; want the CA's root", len(roots), err)
	}
}

// TestCTRootsFileRejected: a bad --ct-roots file stops the server from
// starting, with an error naming the file and the problem.
func TestCTRootsFileRejected(t *testing.T) {
	ext := newExternalCA(t, "external CA")
	leaf, err := ext.ca.Issue(ext.identity(0), newLeafKey(t))
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, tt := range []struct{ name, path, want string }{
		{"missing", missing, "no such file"},
		{"a leaf certificate", writeRoots(t, leaf), "is not a CA certificate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := server.New(server.Options{DataDir: t.TempDir(), BaseURL: "http://127.0.0.1:1", InsecureDevIssuer: true, CTRootsFile: tt.path})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "CT roots") {
				t.Fatalf("New = %v, want an error about the CT roots saying %q", err, tt.want)
			}
		})
	}
}
