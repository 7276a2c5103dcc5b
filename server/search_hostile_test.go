package server_test

//lint:file-ignore SA1019 Rekor v2 dsse v0.0.2 requests are deprecated upstream but signet still accepts them (issue 4)

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/signetproject/signet/server/servertest"
	"github.com/signetproject/signet/sign"
)

func fulcioExt(n int, value []byte) pkix.Extension {
	return pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, n}, Value: value}
}

func utf8String(s string) []byte {
	// asn1.Marshal refuses invalid UTF-8; an attacker's DER need not.
	return append([]byte{asn1.TagUTF8String, byte(len(s))}, s...)
}

func derUTF8(t *testing.T, s string) []byte {
	b, err := asn1.MarshalWithParams(s, "utf8")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// hostileCert is a self-signed certificate, as anyone may log one, whose
// SAN and Fulcio extensions carry markup, quotes, control characters,
// invalid UTF-8 and very long values.
// With malformed, extension .18 is not DER at all.
func hostileCert(t *testing.T, key *ecdsa.PrivateKey, malformed bool) []byte {
	tmpl := &x509.Certificate{
		SerialNumber:   big.NewInt(1),
		Subject:        pkix.Name{CommonName: `<i>cn</i>`},
		NotBefore:      time.Now().Add(-time.Minute),
		NotAfter:       time.Now().Add(time.Hour),
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		EmailAddresses: []string{hostileEmail},
		URIs:           []*url.URL{{Scheme: "https", Host: "evil.example", Path: `/"><script>alert(2)</script>`}},
		ExtraExtensions: []pkix.Extension{
			fulcioExt(1, []byte(`"><img src=x onerror=alert(0)>`)),
			fulcioExt(4, []byte("<script>alert(3)</script>\xff\xfe\"quotes'")),
			fulcioExt(8, derUTF8(t, `"><img src=x onerror=alert(4)>`)),
			fulcioExt(12, derUTF8(t, "https://github.com/"+strings.Repeat("A", 5000))),
			fulcioExt(14, utf8String("refs/heads/\u202emain\x1b[31m")),
		},
	}
	if malformed {
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, fulcioExt(18, []byte("<not DER>")))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x509.ParseCertificate(der); err != nil {
		t.Fatalf("Go cannot parse the hostile certificate, so the log would not see it: %v", err)
	}
	return der
}

const (
	hostileEmail     = `<script>alert(1)</script>"'@x.example`
	hostilePredicate = `<script>alert(5)</script>"'`
)

func postEntry(t *testing.T, base string, req *rekorpb.CreateEntryRequest) int64 {
	t.Helper()
	body, err := protojson.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/api/v2/log/entries", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("log hostile entry: %s: %s", resp.Status, data)
	}
	if resp.ContentLength != int64(len(data)) {
		t.Errorf("entry response: Content-Length %d for %d bytes", resp.ContentLength, len(data))
	}
	var e struct {
		LogIndex string `json:"logIndex"`
	}
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	var idx int64
	for _, c := range e.LogIndex {
		idx = idx*10 + int64(c-'0')
	}
	return idx
}

// TestSearchUIHostileEntries logs entries whose certificate and in-toto
// statement hold markup and broken text, and checks on the parsed DOM that
// the UI shows them as text: no element comes from the log.
func TestSearchUIHostileEntries(t *testing.T) {
	dataDir := t.TempDir()
	inst := servertest.StartInDir(t, dataDir)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	verifierOf := func(cert []byte) *rekorpb.Verifier {
		return &rekorpb.Verifier{
			Verifier:   &rekorpb.Verifier_X509Certificate{X509Certificate: &protocommon.X509Certificate{RawBytes: cert}},
			KeyDetails: protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
		}
	}
	verifier := verifierOf(hostileCert(t, key, false))
	digest := sha256.Sum256([]byte("hostile artifact"))
	sig, _ := key.Sign(rand.Reader, digest[:], crypto.SHA256)
	blob := postEntry(t, inst.URL, &rekorpb.CreateEntryRequest{Spec: &rekorpb.CreateEntryRequest_HashedRekordRequestV002{
		HashedRekordRequestV002: &rekorpb.HashedRekordRequestV002{Digest: digest[:], Signature: &rekorpb.Signature{Content: sig, Verifier: verifier}},
	}})
	statement := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"<b>bold</b>\u202e","digest":{"sha256":"` +
		strings.Repeat("ab", 32) + `"}}],"predicateType":"` + strings.ReplaceAll(hostilePredicate, `"`, `\"`) + `","predicate":{}}`
	pae := sign.PAE(sign.InTotoPayloadType, []byte(statement))
	paeSum := sha256.Sum256(pae)
	dsig, _ := key.Sign(rand.Reader, paeSum[:], crypto.SHA256)
	att := postEntry(t, inst.URL, &rekorpb.CreateEntryRequest{Spec: &rekorpb.CreateEntryRequest_DsseRequestV002{
		DsseRequestV002: &rekorpb.DSSERequestV002{
			Envelope:  &protodsse.Envelope{Payload: []byte(statement), PayloadType: sign.InTotoPayloadType, Signatures: []*protodsse.Signature{{Sig: dsig}}},
			Verifiers: []*rekorpb.Verifier{verifierOf(hostileCert(t, key, true))},
		},
	}})
	if err := inst.Server.Search().Follow(t.Context()); err != nil {
		t.Fatal(err)
	}

	noMarkupFromLog := func(t *testing.T, p *page) {
		t.Helper()
		if p.status != http.StatusOK {
			t.Fatalf("status %d: %s", p.status, p.body)
		}
		if !utf8.Valid(p.body) {
			t.Error("page is not valid UTF-8")
		}
		for _, tag := range []string{"script", "img", "b", "i"} {
			if n := p.find(tag, nil); len(n) > 0 {
				t.Errorf("page has a <%s> element: markup from the log was not escaped", tag)
			}
		}
		if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("Content-Security-Policy = %q", csp)
		}
	}

	results := fetchPage(t, inst.URL+"/?"+url.Values{"q": {hostileEmail}}.Encode())
	noMarkupFromLog(t, results)
	if got := results.resultLinks(); len(got) != 2 {
		t.Fatalf("search by the hostile email found %v, want its 2 entries", got)
	}
	if !strings.Contains(text(results.doc), hostileEmail) {
		t.Error("results do not show the hostile email as text")
	}

	p := fetchPage(t, inst.URL+"/entries/v2/"+itoa(blob))
	noMarkupFromLog(t, p)
	if got := p.fields("Identity (SAN)"); len(got) != 2 || got[0] != hostileEmail || got[1] != `https://evil.example/%22%3E%3Cscript%3Ealert%282%29%3C/script%3E` {
		t.Errorf("SANs = %q", got)
	}
	if got := p.fields("OIDC issuer"); len(got) != 1 || got[0] != `"><img src=x onerror=alert(4)>` {
		t.Errorf("issuer = %q", got)
	}
	exts := map[string]string{}
	for _, tr := range p.find("tr", nil) {
		if th := firstChild(tr, "th"); th != nil && attr(th, "scope") == "row" {
			tds := children(tr, "td")
			exts[text(th)] = text(tds[len(tds)-1])
		}
	}
	for name, want := range map[string]string{
		"Issuer (deprecated)":               `"><img src=x onerror=alert(0)>`,
		"GitHub Workflow Name (deprecated)": "<script>alert(3)</script>\uFFFD\"quotes'",
		"Source Repository Ref":             `refs/heads/\u202emain\u001b[31m`,
	} {
		if exts[name] != want {
			t.Errorf("extension %s = %q, want %q", name, exts[name], want)
		}
	}
	if long := exts["Source Repository URI"]; len(long) > 1200 || !strings.HasSuffix(long, "bytes in all)") {
		t.Errorf("a 5,000-character extension is shown as %d bytes: %.80q…", len(long), long)
	}
	// The command a person copies quotes the identity for the shell.
	if !strings.Contains(text(p.doc), `--certificate-identity '<script>alert(1)</script>"'\''@x.example'`) {
		t.Errorf("verify command does not quote the identity: %s", text(p.find("main", nil)[0]))
	}

	p = fetchPage(t, inst.URL+"/entries/v2/"+itoa(att))
	noMarkupFromLog(t, p)
	if !strings.Contains(text(p.doc), "malformed: 3c6e6f74204445523e") || !strings.Contains(text(p.doc), "extension 1.3.6.1.4.1.57264.1.18") {
		t.Error("the malformed extension is not shown as such")
	}
	// Without a readable issuer, the command has placeholders.
	if !strings.Contains(text(p.doc), "--certificate-identity IDENTITY") {
		t.Error("verify command of a malformed certificate has no placeholder")
	}
	if got := p.fields("Predicate type"); len(got) != 1 || got[0] != hostilePredicate {
		t.Errorf("predicate type = %q, want %q", got, hostilePredicate)
	}
	if !strings.Contains(text(p.doc), `<b>bold</b>\u202e`) {
		t.Error("subject name not shown as text")
	}

	// A stored envelope is shown only if it reproduces the entry: one
	// swapped for another statement (the store is not trusted) is not.
	var view struct {
		UUID string `json:"uuid"`
	}
	if err := json.Unmarshal(get(t, inst.URL+"/api/search/entries/v2/"+itoa(att)), &view); err != nil {
		t.Fatal(err)
	}
	envPath := filepath.Join(dataDir, "search", "envelopes", view.UUID[:2], view.UUID+".json")
	if _, err := os.Stat(envPath); err != nil {
		t.Fatalf("the server kept no envelope: %v", err)
	}
	forged := strings.Replace(statement, strings.ReplaceAll(hostilePredicate, `"`, `\"`), "https://forged.example/predicate", 1)
	forgedEnv, _ := protojson.Marshal(&protodsse.Envelope{Payload: []byte(forged), PayloadType: sign.InTotoPayloadType, Signatures: []*protodsse.Signature{{Sig: dsig}}})
	if err := os.WriteFile(envPath, forgedEnv, 0o644); err != nil {
		t.Fatal(err)
	}
	p = fetchPage(t, inst.URL+"/entries/v2/"+itoa(att))
	if strings.Contains(text(p.doc), "forged.example") || len(p.fields("Predicate type")) != 0 {
		t.Error("a forged stored envelope is shown")
	}
	if !strings.Contains(text(p.doc), "the stored envelope was rejected") {
		t.Error("the page does not say the stored envelope was rejected")
	}

	// The JSON API escapes markup too.
	raw := get(t, inst.URL+"/api/search/entries/v2/"+itoa(att))
	if bytes.Contains(raw, []byte("<script>")) {
		t.Errorf("JSON API holds raw markup: %s", raw)
	}
}
