package ctlog_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	ctasn1 "github.com/google/certificate-transparency-go/asn1"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	ctpkix "github.com/google/certificate-transparency-go/x509/pkix"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/ctlog"
	"github.com/signetproject/signet/internal/cttest"
	"github.com/signetproject/signet/keys"
)

// The context-specific tags of a TBSCertificate (RFC 5280 §4.1).
var (
	tagVersion         = cbasn1.Tag(0).Constructed().ContextSpecific()
	tagIssuerUniqueID  = cbasn1.Tag(1).ContextSpecific()
	tagSubjectUniqueID = cbasn1.Tag(2).ContextSpecific()
	tagExtensions      = cbasn1.Tag(3).Constructed().ContextSpecific()
)

// How certificate-transparency-go's RemoveCTPoison takes a TBSCertificate.
const (
	ctRefuses  = "refuses it"
	ctRewrites = "writes it back in another form"
	ctCopies   = "writes it back as it was"
	// A field it copies as an asn1.RawValue has a tag in high-tag-number
	// form (31 and up), which cryptobyte, and so crypto/x509, does not read.
	ctHighTag = "copies a tag in high-tag-number form"
)

// ctTakes says how RemoveCTPoison takes tbs: with the poison removed, the
// TBSCertificate it writes is tbs's fields re-encoded.
func ctTakes(tbs []byte) string {
	if _, err := ctx509.RemoveCTPoison(tbs); err != nil {
		return ctRefuses
	}
	c, err := cttest.Parse(tbs)
	if err != nil {
		panic("RemoveCTPoison takes a TBSCertificate it does not parse: " + err.Error())
	}
	switch out, err := c.Encode(); {
	case err != nil || !bytes.Equal(out, tbs):
		return ctRewrites
	case c.Issuer.Tag >= 31 || c.Subject.Tag >= 31 || c.SignatureAlgorithm.Parameters.Tag >= 31 || c.PublicKey.Algorithm.Parameters.Tag >= 31:
		return ctHighTag
	}
	return ctCopies
}

var oidPoison = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3}

func poison(critical bool, value []byte) pkix.Extension {
	return pkix.Extension{Id: oidPoison, Critical: critical, Value: value}
}

var good = poison(true, asn1.NullBytes)

// other is an extension that is not the poison.
func other(i int) pkix.Extension {
	return pkix.Extension{Id: asn1.ObjectIdentifier{1, 2, 3, 4, i}, Critical: i%2 == 0, Value: []byte{0x04, 0x01, byte(i)}}
}

// tbsMaker makes TBSCertificates with crypto/x509 that differ only in
// their extensions, which come in the order given.
type tbsMaker struct{ key crypto.Signer }

func newTBSMaker(t testing.TB) tbsMaker {
	t.Helper()
	k, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	return tbsMaker{k}
}

func (m tbsMaker) make(t testing.TB, exts ...pkix.Extension) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "poison test"},
		NotBefore: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), NotAfter: time.Date(2026, 1, 2, 3, 14, 5, 0, time.UTC),
		ExtraExtensions: exts,
	}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, m.key.Public(), m.key)
	if err != nil {
		t.Fatal(err)
	}
	in := cryptobyte.String(cert)
	var body, tbs cryptobyte.String
	if !in.ReadASN1(&body, cbasn1.SEQUENCE) || !body.ReadASN1Element(&tbs, cbasn1.SEQUENCE) {
		t.Fatal("certificate without a TBSCertificate")
	}
	return tbs
}

// der encodes an element of tag holding content.
func der(tag cbasn1.Tag, content ...[]byte) []byte {
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(tag, func(b *cryptobyte.Builder) {
		for _, c := range content {
			b.AddBytes(c)
		}
	})
	return b.BytesOrPanic()
}

// splitTBS returns the DER of tbs's fields.
func splitTBS(t testing.TB, tbs []byte) [][]byte {
	t.Helper()
	in := cryptobyte.String(tbs)
	var body cryptobyte.String
	if !in.ReadASN1(&body, cbasn1.SEQUENCE) {
		t.Fatal("TBSCertificate is not a SEQUENCE")
	}
	var fields [][]byte
	for !body.Empty() {
		var f cryptobyte.String
		var tag cbasn1.Tag
		if !body.ReadAnyASN1Element(&f, &tag) {
			t.Fatal("malformed field")
		}
		fields = append(fields, f)
	}
	return fields
}

// The fields of a TBSCertificate made by tbsMaker.
const (
	fVersion = iota
	fSerial
	fSignature
	fIssuer
	fValidity
	fSubject
	fPublicKey
	fExtensions
)

// withField returns tbs with field i replaced by the elements given (none
// to delete it).
func withField(t testing.TB, tbs []byte, i int, elems ...[]byte) []byte {
	t.Helper()
	f := splitTBS(t, tbs)
	f = append(f[:i:i], append(elems, f[i+1:]...)...)
	return der(cbasn1.SEQUENCE, f...)
}

// rawExt encodes an extension from its parts' DER.
func rawExt(parts ...[]byte) []byte { return der(cbasn1.SEQUENCE, parts...) }

func extsField(exts ...[]byte) []byte {
	return der(tagExtensions, der(cbasn1.SEQUENCE, exts...))
}

func derOf(t testing.TB, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fulcioPrecerts are the TBSCertificates of the Fulcio certificates in
// verify's testdata with their SCT list replaced by the poison, as in the
// precertificates Fulcio logged.
func fulcioPrecerts(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, name := range []string{"sigstore.js@2.0.0-provenance.sigstore.json", "othername.sigstore.json"} {
		data, err := os.ReadFile("../verify/testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		b, err := bundle.Decode(data)
		if err != nil || b.Certificate() == nil {
			t.Fatalf("%s: %v, or no certificate", name, err)
		}
		c, err := cttest.Parse(b.Certificate().RawTBSCertificate)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range c.Extensions {
			if e.Id.Equal(ctasn1.ObjectIdentifier(ctx509.OIDExtensionCTSCT)) {
				c.Extensions[i] = ctpkix.Extension{Id: ctasn1.ObjectIdentifier(oidPoison), Critical: true, Value: asn1.NullBytes}
			}
		}
		tbs, err := c.Encode()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tbs)
	}
	return out
}

type poisonCase struct {
	name string
	tbs  []byte
	want []byte // the TBSCertificate without the poison, if not nil
	err  string // what the error says, if removePoison refuses tbs
	ct   string // how RemoveCTPoison takes tbs if removePoison refuses it
}

func poisonCases(t testing.TB) []poisonCase {
	m := newTBSMaker(t)
	a, b, c := other(1), other(2), other(3)
	many := []pkix.Extension{other(1), other(2), other(3), other(4), other(5), good, other(6), other(7), other(8)}
	base := m.make(t, a, good, b)
	fields := splitTBS(t, base)
	alone := splitTBS(t, m.make(t))
	fulcio := fulcioPrecerts(t)
	exts := func(e ...[]byte) []byte { return withField(t, base, fExtensions, extsField(e...)) }
	var (
		derA    = derOf(t, a)
		derGood = derOf(t, good)
		oid     = derOf(t, a.Id)
		value   = derOf(t, a.Value)
	)
	validity := func(times ...[]byte) []byte {
		return withField(t, base, fValidity, der(cbasn1.SEQUENCE, times...))
	}
	utc := func(s string) []byte { return der(cbasn1.UTCTime, []byte(s)) }
	gen := func(s string) []byte { return der(cbasn1.GeneralizedTime, []byte(s)) }
	notAfter := utc("260102031405Z")
	content := bytes.Join(fields, nil)
	if len(content) > 0xffff {
		t.Fatalf("TBSCertificate of %d bytes", len(content))
	}
	// A length in 3 bytes where 2 or 1 do is not DER.
	long := append([]byte{0x30, 0x83, 0, byte(len(content) >> 8), byte(len(content))}, content...)
	indefinite := append(append([]byte{0x30, 0x80}, content...), 0, 0)
	// An algorithm identifier with an arc written in two bytes, 0x80 0x01,
	// and a key info with data after the key: RemoveCTPoison copies both.
	algorithm := der(cbasn1.SEQUENCE, der(cbasn1.OBJECT_IDENTIFIER, []byte{0x2a, 0x80, 0x01}), der(cbasn1.NULL))
	spki := splitTBS(t, fields[fPublicKey]) // the algorithm and the key
	badKey := der(cbasn1.BIT_STRING, []byte{0x07, 0xff})
	return []poisonCase{
		{name: "signet precertificate", tbs: precert(t, newFixture(t)).RawTBSCertificate},
		{name: "Fulcio precertificate", tbs: fulcio[0]},
		{name: "Fulcio precertificate with an otherName", tbs: fulcio[1]},
		{name: "poison last", tbs: m.make(t, a, b, good), want: m.make(t, a, b)},
		{name: "poison first", tbs: m.make(t, good, a, b), want: m.make(t, a, b)},
		{name: "poison in the middle", tbs: base, want: m.make(t, a, b)},
		{name: "many extensions", tbs: m.make(t, many...), want: m.make(t, append(many[:5:5], many[6:]...)...)},
		// As in RemoveCTPoison, an empty extensions field stays.
		{name: "poison alone", tbs: m.make(t, good), want: der(cbasn1.SEQUENCE, append(alone, extsField())...)},
		// checkChain refuses these two.
		{name: "poison not critical", tbs: m.make(t, a, poison(false, asn1.NullBytes)), want: m.make(t, a)},
		{name: "poison not NULL", tbs: m.make(t, poison(true, []byte{0x04, 0x00}), c), want: m.make(t, c)},
		{name: "no version (v1)", tbs: withField(t, base, fVersion)},
		{name: "negative serial", tbs: withField(t, base, fSerial, []byte{0x02, 0x01, 0xff})},
		{name: "GeneralizedTime after 2049", tbs: validity(utc("260102030405Z"), gen("20500101000000Z"))},
		{name: "GeneralizedTime before 1950", tbs: validity(gen("19491231235959Z"), notAfter)},
		{name: "UTCTime in 1950", tbs: validity(utc("500101000000Z"), notAfter)},
		{name: "UTCTime with an offset", tbs: validity(utc("260102030405+0130"), notAfter)},
		{name: "unique IDs", tbs: withField(t, base, fPublicKey, fields[fPublicKey], der(tagIssuerUniqueID, []byte{0x00, 0x01}), der(tagSubjectUniqueID, []byte{0x01, 0xfe}))},
		{name: "empty unique ID", tbs: withField(t, base, fPublicKey, fields[fPublicKey], der(tagSubjectUniqueID, []byte{0x00}))},
		{name: "algorithm OID with a redundant byte", tbs: withField(t, base, fSignature, algorithm)},
		{name: "algorithm with data after its parameters", tbs: withField(t, base, fSignature, der(cbasn1.SEQUENCE, splitTBS(t, algorithm)[0], der(cbasn1.NULL), der(cbasn1.NULL)))},
		{name: "key info with data after the key", tbs: withField(t, base, fPublicKey, der(cbasn1.SEQUENCE, spki[0], spki[1], der(cbasn1.NULL)))},
		{name: "critical extension", tbs: exts(rawExt(oid, []byte{0x01, 0x01, 0xff}, value), derGood)},

		{name: "no poison", tbs: m.make(t, a, b), err: "no poison extension", ct: ctRefuses},
		{name: "two poisons", tbs: m.make(t, good, a, good), err: "two poison extensions", ct: ctRefuses},
		{name: "no extensions", tbs: m.make(t), err: "no extensions field", ct: ctRefuses},
		{name: "no extension", tbs: exts(), err: "no poison extension", ct: ctRefuses},
		{name: "truncated", tbs: base[:len(base)-1], err: "not one DER SEQUENCE", ct: ctRefuses},
		{name: "trailing byte", tbs: append(bytes.Clone(base), 0), err: "not one DER SEQUENCE", ct: ctRefuses},
		{name: "length not minimal", tbs: long, err: "not one DER SEQUENCE", ct: ctRefuses},
		{name: "indefinite length", tbs: indefinite, err: "not one DER SEQUENCE", ct: ctRefuses},
		{name: "not a SEQUENCE", tbs: der(cbasn1.SET, fields...), err: "not one DER SEQUENCE", ct: ctRefuses},
		{name: "version 0 written out", tbs: withField(t, base, fVersion, der(tagVersion, []byte{0x02, 0x01, 0x00})), err: "version", ct: ctRewrites},
		{name: "version with data after it", tbs: withField(t, base, fVersion, der(tagVersion, []byte{0x02, 0x01, 0x02, 0x05, 0x00})), err: "version", ct: ctRefuses},
		{name: "version not an INTEGER", tbs: withField(t, base, fVersion, der(tagVersion, []byte{0x05, 0x00})), err: "version", ct: ctRefuses},
		{name: "version too large", tbs: withField(t, base, fVersion, der(tagVersion, der(cbasn1.INTEGER, []byte{1, 0, 0, 0, 0, 0, 0, 0, 0}))), err: "version", ct: ctRefuses},
		{name: "serial not minimal", tbs: withField(t, base, fSerial, []byte{0x02, 0x02, 0x00, 0x2a}), err: "serial number", ct: ctRefuses},
		{name: "negative serial not minimal", tbs: withField(t, base, fSerial, []byte{0x02, 0x02, 0xff, 0x80}), err: "serial number", ct: ctRefuses},
		{name: "empty serial", tbs: withField(t, base, fSerial, []byte{0x02, 0x00}), err: "serial number", ct: ctRefuses},
		{name: "algorithm OID empty", tbs: withField(t, base, fSignature, der(cbasn1.SEQUENCE, []byte{0x06, 0x00})), err: "signature algorithm", ct: ctRefuses},
		{name: "algorithm OID truncated", tbs: withField(t, base, fSignature, der(cbasn1.SEQUENCE, []byte{0x06, 0x02, 0x2a, 0x86})), err: "signature algorithm", ct: ctRefuses},
		{name: "algorithm OID arc too large", tbs: withField(t, base, fSignature, der(cbasn1.SEQUENCE, []byte{0x06, 0x06, 0x2a, 0x88, 0x80, 0x80, 0x80, 0x00})), err: "signature algorithm", ct: ctRefuses},
		{name: "algorithm OID arc of 6 bytes", tbs: withField(t, base, fSignature, der(cbasn1.SEQUENCE, []byte{0x06, 0x07, 0x2a, 0x80, 0x80, 0x80, 0x80, 0x81, 0x00})), err: "signature algorithm", ct: ctRefuses},
		{name: "algorithm parameters truncated", tbs: withField(t, base, fSignature, der(cbasn1.SEQUENCE, splitTBS(t, algorithm)[0], []byte{0x05})), err: "signature algorithm", ct: ctRefuses},
		{name: "GeneralizedTime before 2050", tbs: validity(gen("20260102030405Z"), notAfter), err: "validity", ct: ctRewrites},
		{name: "UTCTime without seconds", tbs: validity(utc("2601020304Z"), notAfter), err: "validity", ct: ctRewrites},
		{name: "UTCTime with a fraction", tbs: validity(utc("260102030405.5Z"), notAfter), err: "validity", ct: ctRefuses},
		{name: "UTCTime with offset 0", tbs: validity(utc("260102030405+0000"), notAfter), err: "validity", ct: ctRefuses},
		{name: "UTCTime on February 30", tbs: validity(utc("260230030405Z"), notAfter), err: "validity", ct: ctRefuses},
		{name: "time not a time", tbs: validity(der(cbasn1.INTEGER, []byte{1}), notAfter), err: "validity", ct: ctRefuses},
		{name: "one time", tbs: validity(notAfter), err: "validity", ct: ctRefuses},
		{name: "validity with data after it", tbs: validity(notAfter, notAfter, notAfter), err: "validity", ct: ctRewrites},
		// cryptobyte reads no tag of 31 and up: crypto/x509 would not
		// have parsed the certificate.
		{name: "issuer in high-tag-number form", tbs: withField(t, base, fIssuer, []byte{0x3f, 0x1f, 0x00}), err: "issuer", ct: ctHighTag},
		{name: "key with bad padding", tbs: withField(t, base, fPublicKey, der(cbasn1.SEQUENCE, spki[0], badKey)), err: "subject public key info", ct: ctRefuses},
		{name: "key with 8 unused bits", tbs: withField(t, base, fPublicKey, der(cbasn1.SEQUENCE, spki[0], der(cbasn1.BIT_STRING, []byte{0x08, 0x00}))), err: "subject public key info", ct: ctRefuses},
		{name: "unique ID with an unused bit and no bits", tbs: withField(t, base, fPublicKey, fields[fPublicKey], der(tagIssuerUniqueID, []byte{0x01})), err: "issuer unique ID", ct: ctRefuses},
		{name: "key not a BIT STRING", tbs: withField(t, base, fPublicKey, der(cbasn1.SEQUENCE, spki[0], der(cbasn1.OCTET_STRING))), err: "subject public key info", ct: ctRefuses},
		{name: "unique ID empty", tbs: withField(t, base, fPublicKey, fields[fPublicKey], der(tagIssuerUniqueID)), err: "issuer unique ID", ct: ctRefuses},
		{name: "unique ID with bad padding", tbs: withField(t, base, fPublicKey, fields[fPublicKey], der(tagSubjectUniqueID, []byte{0x01, 0xff})), err: "subject unique ID", ct: ctRefuses},
		{name: "critical written out FALSE", tbs: exts(rawExt(oid, []byte{0x01, 0x01, 0x00}, value), derGood), err: "FALSE", ct: ctRewrites},
		{name: "critical not a DER BOOLEAN", tbs: exts(rawExt(oid, []byte{0x01, 0x01, 0x01}, value), derGood), err: "extension 0 is malformed", ct: ctRefuses},
		{name: "extension with data after its value", tbs: exts(derA, rawExt(splitTBS(t, derGood)[0], value, der(cbasn1.NULL))), err: "extension 1 is malformed", ct: ctRewrites},
		{name: "extension without a value", tbs: exts(derA, rawExt(oid), derGood), err: "extension 1 is malformed", ct: ctRefuses},
		{name: "extension value not an OCTET STRING", tbs: exts(derA, rawExt(oid, der(cbasn1.UTF8String, []byte("v"))), derGood), err: "extension 1 is malformed", ct: ctRefuses},
		{name: "extension OID with a redundant byte", tbs: exts(rawExt([]byte{0x06, 0x04, 0x2a, 0x80, 0x80, 0x01}, value), derGood), err: "extension 0 is malformed", ct: ctRewrites},
		{name: "extension OID empty", tbs: exts(rawExt([]byte{0x06, 0x00}, value), derGood), err: "extension 0 is malformed", ct: ctRefuses},
		{name: "extension not a SEQUENCE", tbs: exts(der(cbasn1.SET, oid, value), derGood), err: "extension 0 is malformed", ct: ctRefuses},
		{name: "data after the extensions", tbs: withField(t, base, fExtensions, fields[fExtensions], der(cbasn1.NULL)), err: "data after its extensions", ct: ctRewrites},
		{name: "data after the extensions SEQUENCE", tbs: withField(t, base, fExtensions, der(tagExtensions, der(cbasn1.SEQUENCE, derA, derGood), der(cbasn1.NULL))), err: "no extensions field", ct: ctRewrites},
		{name: "extensions field before the unique IDs", tbs: withField(t, base, fExtensions, fields[fExtensions], der(tagIssuerUniqueID, []byte{0x00})), err: "data after its extensions", ct: ctRewrites},
	}
}

// TestRemovePoison: removePoison takes out the poison and nothing else,
// giving what RemoveCTPoison gives, and refuses, with an error naming the
// problem, what RemoveCTPoison refuses or would not write back as it was.
func TestRemovePoison(t *testing.T) {
	for _, tt := range poisonCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ctlog.RemovePoison(tt.tbs)
			ctGot, ctErr := ctx509.RemoveCTPoison(tt.tbs)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("removePoison = %x, %v; want an error saying %q", got, err, tt.err)
				}
				if how := ctTakes(tt.tbs); how != tt.ct {
					t.Errorf("RemoveCTPoison %s (error %v); want: it %s", how, ctErr, tt.ct)
				}
				return
			}
			if err != nil {
				t.Fatalf("removePoison: %v", err)
			}
			if ctErr != nil || !bytes.Equal(got, ctGot) {
				t.Errorf("removePoison = %x\nRemoveCTPoison = %x, %v", got, ctGot, ctErr)
			}
			if tt.want != nil && !bytes.Equal(got, tt.want) {
				t.Errorf("removePoison = %x\nwant %x", got, tt.want)
			}
		})
	}
}

// FuzzRemovePoison: removePoison gives what RemoveCTPoison gives; it
// refuses what RemoveCTPoison refuses; and it refuses only what that
// refuses or would not write back as it was (or has a tag in
// high-tag-number form that crypto/x509 would have refused).
func FuzzRemovePoison(f *testing.F) {
	for _, c := range poisonCases(f) {
		f.Add(c.tbs)
	}
	f.Fuzz(func(t *testing.T, tbs []byte) {
		got, err := ctlog.RemovePoison(tbs)
		want, ctErr := ctx509.RemoveCTPoison(tbs)
		switch {
		case ctErr != nil:
			if err == nil {
				t.Fatalf("removePoison = %x for a TBSCertificate RemoveCTPoison refuses: %v", got, ctErr)
			}
		case err == nil:
			if !bytes.Equal(got, want) {
				t.Fatalf("removePoison = %x\nRemoveCTPoison = %x", got, want)
			}
		default:
			if ctTakes(tbs) == ctCopies {
				t.Fatalf("removePoison refused (%v) a TBSCertificate RemoveCTPoison takes as it is", err)
			}
		}
	})
}

// BenchmarkRemovePoison removes the poison from a precertificate of
// signet's CA with removePoison and with certificate-transparency-go.
func BenchmarkRemovePoison(b *testing.B) {
	tbs := precert(b, newFixture(b)).RawTBSCertificate
	for _, impl := range []struct {
		name   string
		remove func([]byte) ([]byte, error)
	}{
		{"signet", ctlog.RemovePoison},
		{"certificate-transparency-go", ctx509.RemoveCTPoison},
	} {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := impl.remove(tbs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
