//go:build e2e

package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	ct "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/ctutil"
	"github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	"github.com/google/certificate-transparency-go/x509util"
	f_log "github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/signetproject/signet/ctlog"
)

// fulcioFileCA is a root CA certificate and key for Fulcio's file CA,
// made before anything starts, so signet's CT log accepts the root
// (--ct-roots) from its first start: Fulcio's ephemeral CA makes its root
// only when it starts, after signet must know it.
type fulcioFileCA struct {
	root              *x509.Certificate
	key               *ecdsa.PrivateKey
	rootPath, keyPath string // the root certificate and the PKCS #8 key, PEM
}

func newFulcioFileCA(tb testing.TB) fulcioFileCA {
	tb.Helper()
	root, key := newRootCA(tb, "fulcio file CA")
	dir := tb.TempDir()
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	return fulcioFileCA{
		root: root, key: key,
		rootPath: writeFile(tb, dir, "root.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw})),
		keyPath:  writeFile(tb, dir, "key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})),
	}
}

// args are Fulcio's flags for the file CA (the key is not encrypted, but
// Fulcio wants a password flag).
func (c fulcioFileCA) args() []string {
	return []string{"--ca=fileca", "--fileca-cert=" + c.rootPath, "--fileca-key=" + c.keyPath, "--fileca-key-passwd=unused", "--fileca-watch=false"}
}

// newRootCA returns a self-signed P-256 root CA certificate and its key.
func newRootCA(tb testing.TB, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name, Organization: []string{"signet e2e"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		BasicConstraintsValid: true, IsCA: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		tb.Fatal(err)
	}
	root, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return root, key
}

// signetCTArgs are Fulcio's flags to log into the CT log of the signet
// server at signetURL, checking its SCTs with the key trusted_root.json
// lists for it.
func signetCTArgs(tb testing.TB, signetURL string) []string {
	tb.Helper()
	keyPath := writeFile(tb, tb.TempDir(), "signet-ct.pem", ctLogKeyPEM(tb, getURL(tb, signetURL+"/trusted_root.json")))
	return []string{"--ct-log-url=" + signetURL + "/ct", "--ct-log-public-key-path=" + keyPath}
}

func getURL(tb testing.TB, url string) []byte {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %s %v\n%.300s", url, resp.Status, err, body)
	}
	return body
}

// TestFulcioLogsToSignetCT: the real Fulcio (v1.8.x, file CA) logs its
// precertificates into signet's CT log over RFC 6962 add-pre-chain and
// checks each SCT with the log's key; the certificate it issues carries an
// SCT from signet's CT log that certificate-transparency-go verifies, and
// the entry it promises is in the log, under a checkpoint signed by the
// log; given another key for the log, Fulcio issues nothing. A chain to a
// root signet's CT log does not accept is refused.
func TestFulcioLogsToSignetCT(t *testing.T) {
	fileCA := newFulcioFileCA(t)
	signet, err := startServer(t.TempDir(), "--ct-roots", fileCA.rootPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = signet.stop() })
	// startFulcio issues one certificate through the CT log already.
	fulcio := startFulcio(t, "fulcio+signet-ct", signet.url, append(fileCA.args(), signetCTArgs(t, signet.url)...)...)

	chain := fulcioCertificate(t, fulcio.url, devTokenFrom(t, signet.url, "ct@example.com"), "ct@example.com")
	cert := chain[0]
	if len(chain) != 2 || !chain[1].Equal(fileCA.root) {
		t.Fatalf("Fulcio's chain has %d certificates, want the leaf and the file CA root", len(chain))
	}
	scts, err := x509util.ParseSCTsFromCertificate(cert.Raw)
	if err != nil || len(scts) != 1 {
		t.Fatalf("embedded SCTs: %v (%d)", err, len(scts))
	}
	sct := scts[0]
	ctKey := ctLogKeyPEM(t, getURL(t, signet.url+"/trusted_root.json"))
	block, _ := pem.Decode(ctKey)
	logKey, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	id, err := ctlog.LogID(logKey)
	if err != nil || sct.LogID.KeyID != id {
		t.Fatalf("SCT log ID %x, want signet's CT log %x (%v)", sct.LogID.KeyID, id, err)
	}
	ctChain := make([]*ctx509.Certificate, len(chain))
	for i, c := range chain {
		if ctChain[i], err = ctx509.ParseCertificate(c.Raw); err != nil {
			t.Fatal(err)
		}
	}
	if err := ctutil.VerifySCT(logKey, ctChain, sct, true); err != nil {
		t.Fatalf("the embedded SCT does not verify against signet's CT log key: %v", err)
	}
	ext := []byte(sct.Extensions)
	if len(ext) != 8 || ext[0] != 0 {
		t.Fatalf("SCT extensions %x hold no leaf_index", ext)
	}
	idx := uint64(ext[3])<<32 | uint64(ext[4])<<24 | uint64(ext[5])<<16 | uint64(ext[6])<<8 | uint64(ext[7])
	if idx != 1 { // entry 0 is startFulcio's certificate
		t.Errorf("leaf index %d, want 1", idx)
	}

	// The entry the SCT promises: the TimestampedEntry of the
	// precertificate, at the start of its TileLeaf in the data tile,
	// under a checkpoint the CT log signed.
	leaf, err := ct.MerkleTreeLeafForEmbeddedSCT(ctChain, sct.Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	leaf.TimestampedEntry.Extensions = sct.Extensions
	entry, err := tls.Marshal(*leaf.TimestampedEntry)
	if err != nil {
		t.Fatal(err)
	}
	origin := strings.TrimPrefix(signet.url, "http://")
	origin = origin[:strings.LastIndexByte(origin, ':')] + "/ct"
	vkey, err := ctlog.VerifierKey(origin, logKey)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := fnote.NewRFC6962Verifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	size := waitCTCheckpoint(t, signet.url, origin, verifier, idx+1)
	tile := getURL(t, fmt.Sprintf("%s/ct/tile/data/000.p/%d", signet.url, size))
	if !bytes.Contains(tile, entry) {
		t.Fatal("signet's CT data tile does not hold the entry the SCT promises")
	}

	// Fulcio checks the SCT: given another key for the log, it issues
	// nothing.
	wrongKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	wrongDER, err := x509.MarshalPKIXPublicKey(wrongKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	wrongPath := writeFile(t, t.TempDir(), "wrong-ct.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: wrongDER}))
	wrong := launchFulcio(t, "fulcio+wrong-ct-key", signet.url, append(fileCA.args(), "--ct-log-url="+signet.url+"/ct", "--ct-log-public-key-path="+wrongPath)...)
	err = postCertRequest(http.DefaultClient, wrong.url, certRequest(t, devTokenFrom(t, signet.url, "ct@example.com"), "ct@example.com"))
	if err == nil || !strings.Contains(err.Error(), "Error entering certificate in CTL") {
		t.Fatalf("Fulcio given another key for signet's CT log: %v, want its CT log error", err)
	}

	// A precertificate chain to a root signet's CT log does not accept.
	otherRoot, otherKey := newRootCA(t, "unaccepted CA")
	pre := poisonedCert(t, otherRoot, otherKey)
	body, _ := json.Marshal(map[string][]string{"chain": {base64.StdEncoding.EncodeToString(pre.Raw), base64.StdEncoding.EncodeToString(otherRoot.Raw)}})
	resp, err := http.Post(signet.url+"/ct/ct/v1/add-pre-chain", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(msg), "does not end in a root the log accepts") {
		t.Fatalf("add-pre-chain from an unaccepted root: %s %q, want 400 naming the root", resp.Status, msg)
	}
	// The same precertificate signed by the accepted root is logged;
	// submitted again, it gets an SCT for the same entry, which verifies
	// and is the entry the data tile holds.
	pre = poisonedCert(t, fileCA.root, fileCA.key)
	var resub [2]*ct.SignedCertificateTimestamp
	for i := range resub {
		resub[i] = addPreChain(t, signet.url, pre, fileCA.root)
	}
	if resub[1].Timestamp != resub[0].Timestamp || !bytes.Equal(resub[1].Extensions, resub[0].Extensions) {
		t.Fatalf("resubmission: SCT for %x at %d, want the first's %x at %d", resub[1].Extensions, resub[1].Timestamp, resub[0].Extensions, resub[0].Timestamp)
	}
	preChain := make([]*ctx509.Certificate, 2)
	for i, c := range []*x509.Certificate{pre, fileCA.root} {
		if preChain[i], err = ctx509.ParseCertificate(c.Raw); err != nil {
			t.Fatal(err)
		}
	}
	if err := ctutil.VerifySCT(logKey, preChain, resub[1], false); err != nil {
		t.Fatalf("the resubmission's SCT does not verify against signet's CT log key: %v", err)
	}
	preLeaf, err := ct.MerkleTreeLeafFromChain(preChain, ct.PrecertLogEntryType, resub[1].Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	preLeaf.TimestampedEntry.Extensions = resub[1].Extensions
	if entry, err = tls.Marshal(*preLeaf.TimestampedEntry); err != nil {
		t.Fatal(err)
	}
	ext = resub[1].Extensions
	idx = uint64(ext[3])<<32 | uint64(ext[4])<<24 | uint64(ext[5])<<16 | uint64(ext[6])<<8 | uint64(ext[7])
	size = waitCTCheckpoint(t, signet.url, origin, verifier, idx+1)
	if tile := getURL(t, fmt.Sprintf("%s/ct/tile/data/000.p/%d", signet.url, size)); !bytes.Contains(tile, entry) {
		t.Fatal("signet's CT data tile does not hold the entry the resubmission's SCT promises")
	}
	// The resubmission made no entry: the next precertificate is the
	// next one.
	next := addPreChain(t, signet.url, poisonedCert(t, fileCA.root, fileCA.key), fileCA.root)
	if want := []byte{0, 0, 5, byte((idx + 1) >> 32), byte((idx + 1) >> 24), byte((idx + 1) >> 16), byte((idx + 1) >> 8), byte(idx + 1)}; !bytes.Equal(next.Extensions, want) {
		t.Fatalf("the next precertificate's extensions %x, want leaf_index %d", next.Extensions, idx+1)
	}
}

// addPreChain submits chain to signet's CT log at url and returns the SCT.
func addPreChain(t *testing.T, url string, chain ...*x509.Certificate) *ct.SignedCertificateTimestamp {
	t.Helper()
	var b64 []string
	for _, c := range chain {
		b64 = append(b64, base64.StdEncoding.EncodeToString(c.Raw))
	}
	body, _ := json.Marshal(map[string][]string{"chain": b64})
	resp, err := http.Post(url+"/ct/ct/v1/add-pre-chain", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got ct.AddChainResponse
	if err := json.NewDecoder(resp.Body).Decode(&got); resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("add-pre-chain: %s %v", resp.Status, err)
	}
	sct, err := got.ToSignedCertificateTimestamp()
	if err != nil {
		t.Fatal(err)
	}
	return sct
}

// fulcioCertificate asks the Fulcio at url for a certificate and returns
// its chain.
func fulcioCertificate(t *testing.T, url, token, subject string) []*x509.Certificate {
	t.Helper()
	resp, err := http.Post(url+"/api/v2/signingCert", "application/json", bytes.NewReader(certRequest(t, token, subject)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		SignedCertificateEmbeddedSct struct {
			Chain struct {
				Certificates []string `json:"certificates"`
			} `json:"chain"`
		} `json:"signedCertificateEmbeddedSct"`
	}
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &out) != nil {
		t.Fatalf("Fulcio signingCert: %s %.500s", resp.Status, data)
	}
	var chain []*x509.Certificate
	for _, p := range out.SignedCertificateEmbeddedSct.Chain.Certificates {
		block, _ := pem.Decode([]byte(p))
		if block == nil {
			t.Fatalf("Fulcio chain element is not PEM: %.200s", p)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		t.Fatalf("Fulcio answered no certificate: %.500s", data)
	}
	return chain
}

// waitCTCheckpoint waits until the CT log at url publishes a checkpoint
// that verifies and covers at least size entries, and returns its size.
func waitCTCheckpoint(t *testing.T, url, origin string, v note.Verifier, size uint64) uint64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		raw := getURL(t, url+"/ct/checkpoint")
		cp, _, _, err := f_log.ParseCheckpoint(raw, origin, v)
		if err != nil {
			t.Fatalf("CT checkpoint does not verify: %v\n%s", err, raw)
		}
		if cp.Size >= size {
			return cp.Size
		}
		if time.Now().After(deadline) {
			t.Fatalf("CT checkpoint size %d, want %d", cp.Size, size)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// poisonedCert returns a precertificate (critical RFC 6962 poison) that
// root's key signed.
func poisonedCert(t *testing.T, root *x509.Certificate, rootKey *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), NotBefore: time.Now(), NotAfter: time.Now().Add(10 * time.Minute),
		EmailAddresses: []string{"hostile@example.com"}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3}, Critical: true, Value: asn1.NullBytes}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root, key.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
