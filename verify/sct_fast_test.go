package verify

import (
	"bytes"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"

	ct "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/internal/cttest"
	"github.com/signetproject/signet/trustroot"
)

// ctReencode is certificate-transparency-go's re-encoding of a
// TBSCertificate, or nil when it does not parse.
func ctReencode(tbs []byte) []byte {
	c, err := cttest.Parse(tbs)
	if err != nil {
		return nil
	}
	out, err := c.Encode()
	if err != nil {
		return nil
	}
	return out
}

// testdataCertificates are the Fulcio certificates of the testdata bundles.
func testdataCertificates(t testing.TB) []*x509.Certificate {
	var certs []*x509.Certificate
	for _, name := range []string{"sigstore.js@2.0.0-provenance.sigstore.json", "examples-bundle-provenance.sigstore.json",
		"dsse.sigstore.json", "othername.sigstore.json"} {
		b, err := bundle.Decode(readTestdata(t, name))
		if err != nil {
			t.Fatal(err)
		}
		if c := b.Certificate(); c != nil {
			certs = append(certs, c)
		}
	}
	return certs
}

// TestSCTSignedData checks the direct construction of what an embedded SCT
// signs against certificate-transparency-go's: the same bytes for real
// Fulcio certificates and for the test CA's, and a signature over them
// that verifies without the library's fallback.
func TestSCTSignedData(t *testing.T) {
	root, err := trustroot.LoadTrustedRoot(readTestdata(t, "trusted-root-public-good.json"))
	if err != nil {
		t.Fatal(err)
	}
	type pair struct {
		cert, issuer *x509.Certificate
		logs         []trustroot.Log
	}
	var pairs []pair
	for _, c := range testdataCertificates(t) {
		for _, ca := range root.CertificateAuthorities {
			if len(ca.Intermediates) > 0 && c.CheckSignatureFrom(ca.Intermediates[0]) == nil {
				pairs = append(pairs, pair{c, ca.Intermediates[0], root.CTLogs})
			}
		}
	}
	if len(pairs) == 0 {
		t.Fatal("no testdata certificate issued by a public-good intermediate")
	}
	testCA := newTestCA(t)
	l := newTestCTLog(t, "https://ct.example")
	k := mustECDSA(t, elliptic.P256())
	pairs = append(pairs, pair{testCA.issueWithSCTs(t, k.Public(), []*testCTLog{l}, nil), testCA.cert, []trustroot.Log{l.log()}})

	for i, p := range pairs {
		scts, err := embeddedSCTs(p.cert)
		if err != nil || len(scts) == 0 {
			t.Fatalf("certificate %d: SCTs %v, %v", i, scts, err)
		}
		ours, err := precertTBS(p.cert.RawTBSCertificate)
		if err != nil {
			t.Fatalf("certificate %d: %v", i, err)
		}
		theirs, err := ctx509.RemoveSCTList(p.cert.RawTBSCertificate)
		if err != nil || !bytes.Equal(ours, theirs) {
			t.Fatalf("certificate %d: precertTBS differs from RemoveSCTList (%v)", i, err)
		}
		verified := 0
		for _, sct := range scts {
			for _, log := range p.logs {
				if !bytes.Equal(log.LogID, sct.LogID.KeyID[:]) {
					continue
				}
				data, err := sctSignedData(p.cert, p.issuer, sct)
				if err != nil {
					t.Fatal(err)
				}
				if err := tls.VerifySignature(log.PublicKey, data, tls.DigitallySigned(sct.Signature)); err != nil {
					t.Errorf("certificate %d: SCT from %s: %v", i, log.BaseURL, err)
				}
				v2 := *sct
				v2.SCTVersion = 1
				if _, err := sctSignedData(p.cert, p.issuer, &v2); err == nil {
					t.Errorf("certificate %d: an SCT of version 2 has signed data", i)
				}
				bad := *sct
				bad.Timestamp++
				if data, err := sctSignedData(p.cert, p.issuer, &bad); err != nil ||
					tls.VerifySignature(log.PublicKey, data, tls.DigitallySigned(bad.Signature)) == nil {
					t.Errorf("certificate %d: SCT with another timestamp verifies (%v)", i, err)
				}
				verified++
			}
		}
		if verified == 0 {
			t.Errorf("certificate %d: no SCT from a trusted log", i)
		}
	}
}

// TestPrecertTBS covers the shapes of extension lists precertTBS must
// handle the way certificate-transparency-go does.
func TestPrecertTBS(t *testing.T) {
	testCA := newTestCA(t)
	k := mustECDSA(t, elliptic.P256())
	sctExt := pkix.Extension{Id: oidSCTList, Value: []byte{0x04, 0x02, 0x00, 0x00}}
	issue := func(exts ...pkix.Extension) []byte {
		return testCA.issue(t, k.Public(), func(tmpl *x509.Certificate) {
			tmpl.ExtraExtensions = exts
		}).RawTBSCertificate
	}
	// A self-signed leaf has no extension crypto/x509 adds by itself.
	onlySCTs := &x509.Certificate{SerialNumber: big.NewInt(1), ExtraExtensions: []pkix.Extension{sctExt}}
	der, err := x509.CreateCertificate(rand.Reader, onlySCTs, onlySCTs, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	if onlySCTs, err = x509.ParseCertificate(der); err != nil || len(onlySCTs.Extensions) != 1 {
		t.Fatalf("certificate with only an SCT list: %v", err)
	}
	trailing := append(issue(sctExt), 0)
	// crypto/x509 will not write an extension twice: write a look-alike,
	// then give it the SCT list's OID.
	lookAlike := asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3}
	noExtsTmpl := &x509.Certificate{SerialNumber: big.NewInt(1)}
	der, err = x509.CreateCertificate(rand.Reader, noExtsTmpl, noExtsTmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	noExts, err := x509.ParseCertificate(der)
	if err != nil || len(noExts.Extensions) != 0 {
		t.Fatalf("certificate without extensions: %v", err)
	}
	// Hand-made TBSCertificates: a field, then an extensions field.
	tbsWith := func(field ...byte) []byte { return append([]byte{0x30, byte(len(field))}, field...) }
	sctDER, err := asn1.Marshal(sctExt)
	if err != nil {
		t.Fatal(err)
	}
	// A TBSCertificate with its extensions field twice.
	tbs := cryptobyte.String(issue(sctExt))
	var fields cryptobyte.String
	if !tbs.ReadASN1(&fields, cbasn1.SEQUENCE) {
		t.Fatal("malformed TBSCertificate")
	}
	extsAt := bytes.LastIndexByte(fields, 0xa3)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddBytes(fields); b.AddBytes(fields[extsAt:]) })
	twoFields := b.BytesOrPanic()
	twice := bytes.Replace(issue(sctExt, pkix.Extension{Id: lookAlike, Value: sctExt.Value}),
		asn1OID(lookAlike), asn1OID(oidSCTList), 1)
	for _, tc := range []struct {
		name     string
		tbs      []byte
		ok, ctOK bool // precertTBS, RemoveSCTList succeed
	}{
		{"one SCT list", issue(sctExt), true, true},
		{"nothing but the SCT list", onlySCTs.RawTBSCertificate, true, true},
		{"no SCT list", issue(), false, false},
		{"two SCT lists", twice, false, false},
		{"trailing data", trailing, false, false},
		// certificate-transparency-go's asn1 ignores what follows the
		// fields it knows and re-encodes without it: the fast path leaves
		// such a TBSCertificate to it.
		{"two extensions fields", twoFields, false, true},
		{"not a sequence", []byte{0x04, 0x00}, false, false},
		{"no extensions field", noExts.RawTBSCertificate, false, false},
		{"truncated field", []byte{0x30, 0x01, 0x05}, false, false},
		{"extensions not a sequence", tbsWith(0xa3, 0x02, 0x05, 0x00), false, false},
		{"extensions without sequence", tbsWith(append([]byte{0xa3, byte(len(sctDER))}, sctDER...)...), false, false},
		{"truncated extension", tbsWith(0xa3, 0x03, 0x30, 0x01, 0x30), false, false},
		{"data after the extensions", tbsWith(append(append([]byte{0xa3, byte(4 + len(sctDER)), 0x30, byte(len(sctDER))}, sctDER...), 0x05, 0x00)...), false, false},
		{"extension without OID", tbsWith(append([]byte{0xa3, byte(6 + len(sctDER)), 0x30, byte(4 + len(sctDER)), 0x30, 0x02, 0x05, 0x00}, sctDER...)...), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ours, err := precertTBS(tc.tbs)
			theirs, terr := ctx509.RemoveSCTList(tc.tbs)
			if (err == nil) != tc.ok || (terr == nil) != tc.ctOK {
				t.Fatalf("precertTBS: %v, RemoveSCTList: %v, want success %v, %v", err, terr, tc.ok, tc.ctOK)
			}
			if tc.ok && !bytes.Equal(ours, theirs) {
				t.Fatalf("precertTBS = %x, RemoveSCTList = %x", ours, theirs)
			}
		})
	}
}

// FuzzPrecertTBS checks precertTBS, the fast path of SCT verification,
// against certificate-transparency-go's RemoveSCTList, the general one, on
// certificates crypto/x509 accepts: what the fast path produces is the
// library's output up to its re-encoding, and exactly its output when the
// certificate is in the library's canonical form.
func FuzzPrecertTBS(f *testing.F) {
	for _, c := range testdataCertificates(f) {
		f.Add(c.Raw)
	}
	testCA := newTestCA(f)
	l := newTestCTLog(f, "https://ct.example")
	f.Add(testCA.issueWithSCTs(f, mustECDSA(f, elliptic.P256()).Public(), []*testCTLog{l}, nil).Raw)
	f.Fuzz(func(t *testing.T, der []byte) {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return
		}
		tbs := cert.RawTBSCertificate
		ours, err := precertTBS(tbs)
		theirs, terr := ctx509.RemoveSCTList(tbs)
		if err != nil {
			return // the general path decides
		}
		if terr != nil {
			t.Fatalf("precertTBS accepts what RemoveSCTList rejects: %v", terr)
		}
		if got := ctReencode(ours); !bytes.Equal(got, theirs) {
			t.Fatalf("re-encoded precertTBS = %x, RemoveSCTList = %x", got, theirs)
		}
		if bytes.Equal(ctReencode(tbs), tbs) && !bytes.Equal(ours, theirs) {
			t.Fatalf("canonical input: precertTBS = %x, RemoveSCTList = %x", ours, theirs)
		}
		if bytes.Contains(ours, asn1OID(oidSCTList)) && !bytes.Contains(theirs, asn1OID(oidSCTList)) {
			t.Fatal("precertTBS left the SCT list in")
		}
		sct := &ct.SignedCertificateTimestamp{SCTVersion: ct.V1, Timestamp: 1}
		if _, err := sctSignedData(cert, cert, sct); err != nil {
			t.Fatalf("sctSignedData: %v", err)
		}
	})
}

func asn1OID(oid asn1.ObjectIdentifier) []byte {
	b, err := asn1.Marshal(oid)
	if err != nil {
		panic(err)
	}
	return b
}
