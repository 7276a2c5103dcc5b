package ctlog_test

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	ct "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/ctutil"

	"github.com/signetproject/signet/ctlog"
	"github.com/signetproject/signet/keys"
)

// TestAddFinalAndRootless: add-chain logs a final certificate, and a
// chain that leaves its root out (as RFC 6962 §4.1 allows) ends in the
// root that signed its last certificate; both SCTs verify.
func TestAddFinalAndRootless(t *testing.T) {
	f := newFixture(t)
	l := openLog(t, t.TempDir(), f.key, f.chain[1:])
	final, err := f.ca.Issue(identity(0), leafKey(t))
	if err != nil {
		t.Fatal(err)
	}
	sct, err := l.Add(t.Context(), []*x509.Certificate{final, f.chain[0]}, false)
	if err != nil {
		t.Fatalf("add-chain without the root: %v", err)
	}
	if err := ctutil.VerifySCT(f.key.Public(), parseCT(t, final, f.chain[0]), sct, false); err != nil {
		t.Fatalf("add-chain SCT: %v", err)
	}
	// The same certificate with its root is the same entry
	// (TestAddDeduplicates).
	again, err := l.Add(t.Context(), append([]*x509.Certificate{final}, f.chain...), false)
	if err != nil {
		t.Fatalf("add-chain with the root: %v", err)
	}
	if !bytes.Equal(again.Extensions, sct.Extensions) || again.Timestamp != sct.Timestamp {
		t.Errorf("the same certificate with its root: extensions %x at %d, want %x at %d", again.Extensions, again.Timestamp, sct.Extensions, sct.Timestamp)
	}
	pre := precert(t, f)
	sct, err = l.Add(t.Context(), []*x509.Certificate{pre, f.chain[0]}, true)
	if err != nil {
		t.Fatalf("add-pre-chain without the root: %v", err)
	}
	if ct.LogEntryType(sct.Extensions[0]) != 0 || len(sct.Extensions) != 8 || sct.Extensions[7] != 1 {
		t.Errorf("second entry's extensions %x, want leaf_index 1", sct.Extensions)
	}
}

// TestAddRejects: chains add-chain and add-pre-chain refuse.
func TestAddRejects(t *testing.T) {
	f := newFixture(t)
	l := openLog(t, t.TempDir(), f.key, f.chain[1:])
	pre := precert(t, f)
	final, err := f.ca.Issue(identity(0), leafKey(t))
	if err != nil {
		t.Fatal(err)
	}
	psc, pscPre := precertViaSigningCert(t, f, pre)
	other := newFixture(t)
	otherPre := precert(t, other)
	if !bytes.Equal(other.chain[0].RawIssuer, f.chain[1].RawSubject) {
		t.Fatal("the other CA's intermediate names a different issuer than f's root")
	}
	for _, tt := range []struct {
		name    string
		chain   []*x509.Certificate
		precert bool
		want    string
	}{
		{"empty", nil, false, "empty chain"},
		{"precertificate on add-chain", append([]*x509.Certificate{pre}, f.chain...), false, "submit it with add-pre-chain"},
		{"precertificate alone", []*x509.Certificate{pre}, true, "does not end in a root"},
		{"issued by a precertificate signing certificate", append([]*x509.Certificate{pscPre, psc}, f.chain...), true, "precertificate signing certificate"},
		{"final certificate not signed by the next", []*x509.Certificate{final, f.chain[1]}, false, "not signed by certificate 1"},
		// The other CA's names are the same as f's: only the signature
		// tells its intermediate from one f's root signed.
		{"root left out, another CA's intermediate", []*x509.Certificate{otherPre, other.chain[0]}, true, "does not end in a root"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := l.Add(t.Context(), tt.chain, tt.precert)
			if !errors.Is(err, ctlog.ErrInvalidChain) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Add = %v, want ErrInvalidChain saying %q", err, tt.want)
			}
		})
	}
}

// precertViaSigningCert returns an RFC 6962 §3.1 precertificate signing
// certificate of f's intermediate and pre re-signed by it.
func precertViaSigningCert(t *testing.T, f fixture, pre *x509.Certificate) (psc, signed *x509.Certificate) {
	t.Helper()
	key, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "precertificate signing"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		BasicConstraintsValid: true, IsCA: true, KeyUsage: x509.KeyUsageCertSign,
		UnknownExtKeyUsage: []asn1.ObjectIdentifier{{1, 3, 6, 1, 4, 1, 11129, 2, 4, 4}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f.chain[0], key.Public(), f.interKey)
	if err != nil {
		t.Fatal(err)
	}
	if psc, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	ptmpl := *pre
	ptmpl.ExtraExtensions = nil
	for _, e := range pre.Extensions {
		if !e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 35}) { // the authority key ID is set again
			ptmpl.ExtraExtensions = append(ptmpl.ExtraExtensions, e)
		}
	}
	if der, err = x509.CreateCertificate(rand.Reader, &ptmpl, psc, pre.PublicKey, key); err != nil {
		t.Fatal(err)
	}
	if signed, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	return psc, signed
}

// selfSigned returns a self-signed CA certificate with the given key
// usage and extra extensions.
func selfSigned(t *testing.T, usage x509.KeyUsage, exts []pkix.Extension) *x509.Certificate {
	t.Helper()
	key, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "self-signed"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		BasicConstraintsValid: true, IsCA: true, KeyUsage: usage, ExtraExtensions: exts,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAddPoisonedRootAlone: a precertificate that is itself an accepted
// root has no issuer to name; the log refuses it rather than fail.
func TestAddPoisonedRootAlone(t *testing.T) {
	f := newFixture(t)
	poisoned := selfSigned(t, x509.KeyUsageCertSign, []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3}, Critical: true, Value: asn1.NullBytes}})
	l := openLog(t, t.TempDir(), f.key, []*x509.Certificate{poisoned})
	if _, err := l.Add(t.Context(), []*x509.Certificate{poisoned}, true); !errors.Is(err, ctlog.ErrInvalidChain) || !strings.Contains(err.Error(), "needs an issuer") {
		t.Fatalf("Add = %v, want ErrInvalidChain saying it needs an issuer", err)
	}
}

func TestParseRoots(t *testing.T) {
	f := newFixture(t)
	final, err := f.ca.Issue(identity(0), leafKey(t))
	if err != nil {
		t.Fatal(err)
	}
	pemOf := func(typ string, der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	root, inter := pemOf("CERTIFICATE", f.chain[1].Raw), pemOf("CERTIFICATE", f.chain[0].Raw)
	roots, err := ctlog.ParseRoots([]byte(root + "\n" + inter))
	if err != nil || len(roots) != 2 || !roots[0].Equal(f.chain[1]) || !roots[1].Equal(f.chain[0]) {
		t.Fatalf("ParseRoots(root, intermediate) = %d, %v", len(roots), err)
	}
	for _, tt := range []struct{ name, data, want string }{
		{"empty", "", "no PEM certificate"},
		{"not PEM", "hello", "not a PEM block"},
		{"garbage after the certificates", root + "hello", "data after PEM certificate 1"},
		{"a key", root + pemOf("PUBLIC KEY", []byte{1, 2, 3}), `PEM block 2 is a "PUBLIC KEY"`},
		{"bad DER", pemOf("CERTIFICATE", []byte{1, 2, 3}), "certificate 1:"},
		{"not a CA", root + pemOf("CERTIFICATE", final.Raw), "certificate 2 (" + final.Subject.String() + ") is not a CA"},
		{"a CA that may not sign certificates", pemOf("CERTIFICATE", selfSigned(t, x509.KeyUsageDigitalSignature, nil).Raw), "key usage lacks certSign"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ctlog.ParseRoots([]byte(tt.data)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseRoots = %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

// TestForeignChainsAreNotRemembered: links of a chain to a root the log
// does not accept, which anyone may submit, are not kept; those of an
// accepted chain are.
func TestForeignChainsAreNotRemembered(t *testing.T) {
	f, other := newFixture(t), newFixture(t)
	l := openLog(t, t.TempDir(), f.key, f.chain[1:])
	if _, err := l.Add(t.Context(), append([]*x509.Certificate{precert(t, other)}, other.chain...), true); !errors.Is(err, ctlog.ErrInvalidChain) {
		t.Fatalf("foreign chain: %v", err)
	}
	if n := ctlog.RememberedLinks(l); n != 0 {
		t.Fatalf("the log remembers %d links of a chain it refused", n)
	}
	if _, err := l.Add(t.Context(), append([]*x509.Certificate{precert(t, f)}, f.chain...), true); err != nil {
		t.Fatal(err)
	}
	if n := ctlog.RememberedLinks(l); n != 1 {
		t.Fatalf("the log remembers %d links of its CA's chain, want 1", n)
	}
}
