package fulcio

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"
)

// otherNameSANValue is the DER of a SAN extension holding one Sigstore
// otherName, as Fulcio writes it.
func otherNameSANValue(t *testing.T, value string) []byte {
	t.Helper()
	inner, err := asn1.MarshalWithParams(value, "utf8")
	if err != nil {
		t.Fatal(err)
	}
	on, err := asn1.MarshalWithParams(struct {
		ID    asn1.ObjectIdentifier
		Value asn1.RawValue
	}{oidOtherName, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: inner}}, "tag:0")
	if err != nil {
		t.Fatal(err)
	}
	seq, err := asn1.Marshal([]asn1.RawValue{{FullBytes: on}})
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// otherNameCert is a certificate whose only extension is a SAN extension
// with the given raw value, as Summarize sees it (Go's parser
// would refuse some of these; the function must not rely on that).
func otherNameCert(value []byte) *x509.Certificate {
	return &x509.Certificate{Extensions: []pkix.Extension{{Id: oidSAN, Value: value}}}
}

func TestOtherNameSAN(t *testing.T) {
	good := otherNameSANValue(t, "user!example.com")
	gn := func(class, tag int, compound bool, b []byte) []byte {
		der, err := asn1.Marshal(asn1.RawValue{Class: class, Tag: tag, IsCompound: compound, Bytes: b})
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	seq := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return gn(asn1.ClassUniversal, asn1.TagSequence, true, b)
	}
	var inner asn1.RawValue
	if _, err := asn1.Unmarshal(good, &inner); err != nil {
		t.Fatal(err)
	}
	otherName := inner.Bytes // the one [0] otherName
	wrongOID := []byte(strings.Replace(string(otherName), "\x2b\x06\x01\x04\x01\x83\xbf\x30\x01\x07", "\x2b\x06\x01\x04\x01\x83\xbf\x30\x01\x08", 1))
	dns := gn(asn1.ClassContextSpecific, 2, false, []byte("example.com"))
	tests := []struct {
		name  string
		value []byte
		want  string
	}{
		{"one otherName", good, "user!example.com"},
		{"after a DNS name", seq(dns, otherName), "user!example.com"},
		{"two otherNames", seq(otherName, otherName), ""},
		{"another otherName type", seq(wrongOID), ""},
		{"not a sequence", gn(asn1.ClassUniversal, asn1.TagSet, true, otherName), ""},
		{"trailing data", append(append([]byte{}, good...), 0), ""},
		{"truncated name", seq(otherName[:len(otherName)-3]), ""},
		{"garbage", []byte{0xff}, ""},
	}
	for _, tt := range tests {
		if got := OtherNameSAN(otherNameCert(tt.value)); got != tt.want {
			t.Errorf("%s: otherNameSAN = %q, want %q", tt.name, got, tt.want)
		}
	}
	// Only the SAN extension names the signer: the same bytes under
	// another extension are not a SAN.
	other := &x509.Certificate{Extensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, Value: good}}}
	if got := OtherNameSAN(other); got != "" {
		t.Errorf("otherName under another extension: otherNameSAN = %q, want none", got)
	}
}

// selfSigned returns a certificate for testSAN with extra extensions.
func selfSigned(t *testing.T, exts ...pkix.Extension) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(testSAN)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Minute).Truncate(time.Second), NotAfter: time.Now().Add(time.Hour).Truncate(time.Second),
		URIs: []*url.URL{u}, ExtraExtensions: exts,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

const (
	testSAN    = "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main"
	testIssuer = "https://token.actions.githubusercontent.com"
)

func TestSummarize(t *testing.T) {
	raw := func(n int, v string) pkix.Extension {
		return pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, n}, Value: []byte(v)}
	}
	der := func(n int, v string) pkix.Extension {
		b, err := asn1.MarshalWithParams(v, "utf8")
		if err != nil {
			t.Fatal(err)
		}
		return pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, n}, Value: b}
	}
	cert := selfSigned(t,
		raw(1, "https://legacy.example"), raw(2, "push"), raw(3, "sha"), raw(4, "name"), raw(5, "octo/app"), raw(6, "refs/heads/main"),
		der(9, "signer"), der(12, "https://github.com/octo/app"), der(22, "public"),
		pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2, 9}, Value: []byte("not ours")},
	)
	c, err := Summarize(cert)
	if err != nil {
		t.Fatal(err)
	}
	want := Certificate{
		SAN: testSAN, Issuer: "https://legacy.example", CertificateIssuer: "CN=test CA",
		NotBefore: cert.NotBefore, NotAfter: cert.NotAfter,
		GitHubWorkflowTrigger: "push", GitHubWorkflowSHA: "sha", GitHubWorkflowName: "name",
		GitHubWorkflowRepository: "octo/app", GitHubWorkflowRef: "refs/heads/main",
		BuildSignerURI: "signer", SourceRepositoryURI: "https://github.com/octo/app", SourceRepositoryVisibilityAtSigning: "public",
	}
	if *c != want {
		t.Errorf("Summarize =\n%+v\nwant\n%+v", *c, want)
	}
	// The v2 issuer extension wins over the legacy one.
	if c, err := Summarize(selfSigned(t, raw(1, "https://legacy.example"), der(8, testIssuer))); err != nil || c.Issuer != testIssuer {
		t.Errorf("issuer %q, %v; want %q", c.Issuer, err, testIssuer)
	}
}

// TestSummarizeRejects names each reason a certificate has no summary.
func TestSummarizeRejects(t *testing.T) {
	for _, tt := range []struct {
		name string
		ext  pkix.Extension
		want string
	}{
		{"malformed DER claim", pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 9}, Value: []byte("raw, not DER")}, "extension 1.3.6.1.4.1.57264.1.9"},
		{"trailing data", pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 12}, Value: append(mustUTF8(t, "x"), 0)}, "trailing data"},
	} {
		if _, err := Summarize(selfSigned(t, tt.ext)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Summarize = %v, want an error naming %q", tt.name, err, tt.want)
		}
	}
	noSAN := selfSigned(t)
	noSAN.URIs = nil
	if _, err := Summarize(noSAN); err == nil || !strings.Contains(err.Error(), "no subject alternative name") {
		t.Errorf("no SAN: Summarize = %v", err)
	}
	// The first URI wins over emails, emails over the otherName.
	both := selfSigned(t)
	both.EmailAddresses = []string{"a@example.com"}
	if c, err := Summarize(both); err != nil || c.SAN != testSAN {
		t.Errorf("URI and email: SAN %v, %v", c, err)
	}
	both.URIs = nil
	if c, err := Summarize(both); err != nil || c.SAN != "a@example.com" {
		t.Errorf("email: SAN %v, %v", c, err)
	}
}

func mustUTF8(t *testing.T, s string) []byte {
	t.Helper()
	b, err := asn1.MarshalWithParams(s, "utf8")
	if err != nil {
		t.Fatal(err)
	}
	return b
}
