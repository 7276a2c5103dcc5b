package verify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"

	"github.com/signetproject/signet/bundle"
	"github.com/signetproject/signet/trustroot"
)

// testCTLog is a certificate transparency log the tests hold the key of.
type testCTLog struct {
	url string
	key *ecdsa.PrivateKey
	id  [32]byte
}

func newTestCTLog(t testing.TB, url string) *testCTLog {
	t.Helper()
	l := &testCTLog{url: url, key: mustECDSA(t, elliptic.P256())}
	der, err := x509.MarshalPKIXPublicKey(l.key.Public())
	if err != nil {
		t.Fatal(err)
	}
	l.id = sha256.Sum256(der)
	return l
}

func (l *testCTLog) log() trustroot.Log {
	return trustroot.Log{BaseURL: l.url, LogID: l.id[:], PublicKey: l.key.Public(), ValidFor: trustroot.Window{Start: time.Now().Add(-time.Hour)}}
}

// sct is a log's SCT for the leaf certificate leaf issued by issuer, as
// if logged as a precertificate now.
func (l *testCTLog) sct(t testing.TB, leaf, issuer *x509.Certificate, edit func(*ct.SignedCertificateTimestamp)) *ct.SignedCertificateTimestamp {
	t.Helper()
	chain := make([]*ctx509.Certificate, 2)
	for i, c := range []*x509.Certificate{leaf, issuer} {
		var err error
		if chain[i], err = ctx509.ParseCertificate(c.Raw); err != nil {
			t.Fatal(err)
		}
	}
	sct := &ct.SignedCertificateTimestamp{SCTVersion: ct.V1, LogID: ct.LogID{KeyID: l.id}, Timestamp: uint64(time.Now().UnixMilli())}
	leafData, err := ct.MerkleTreeLeafForEmbeddedSCT(chain, sct.Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	input, err := ct.SerializeSCTSignatureInput(*sct, ct.LogEntry{Leaf: *leafData})
	if err != nil {
		t.Fatal(err)
	}
	sct.Signature = ct.DigitallySigned{
		Algorithm: cttls.SignatureAndHashAlgorithm{Hash: cttls.SHA256, Signature: cttls.ECDSA},
		Signature: signWith(t, l.key, crypto.SHA256, input),
	}
	if edit != nil {
		edit(sct)
	}
	return sct
}

var oidSCTs = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}

// sctListExt encodes SCTs as the embedded SCT list extension.
func sctListExt(t testing.TB, scts ...*ct.SignedCertificateTimestamp) pkix.Extension {
	t.Helper()
	var list ctx509.SignedCertificateTimestampList
	for _, s := range scts {
		b, err := cttls.Marshal(*s)
		if err != nil {
			t.Fatal(err)
		}
		list.SCTList = append(list.SCTList, ctx509.SerializedSCT{Val: b})
	}
	b, err := cttls.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	v, err := asn1.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: oidSCTs, Value: v}
}

// issueWithSCTs has the test CA certify pub with an SCT of each log
// embedded; edit may change each SCT after it is signed.
func (c *testCA) issueWithSCTs(t testing.TB, pub crypto.PublicKey, logs []*testCTLog, edit func(i int, s *ct.SignedCertificateTimestamp)) *x509.Certificate {
	t.Helper()
	serial := big.NewInt(time.Now().UnixNano())
	notBefore := time.Now().Add(-time.Minute)
	withExt := func(ext pkix.Extension) *x509.Certificate {
		return c.issue(t, pub, func(tmpl *x509.Certificate) {
			tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = serial, notBefore, notBefore.Add(10*time.Minute)
			tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, ext)
		})
	}
	// The SCTs sign the certificate without its SCT list, which is the
	// same with any list.
	draft := withExt(sctListExt(t, &ct.SignedCertificateTimestamp{Signature: ct.DigitallySigned{Signature: []byte{0}}}))
	var scts []*ct.SignedCertificateTimestamp
	for i, l := range logs {
		scts = append(scts, l.sct(t, draft, c.cert, func(s *ct.SignedCertificateTimestamp) {
			if edit != nil {
				edit(i, s)
			}
		}))
	}
	return withExt(sctListExt(t, scts...))
}

// certFunc certifies a key for a test.
type certFunc func(t *testing.T, pub crypto.PublicKey) *x509.Certificate

// sctScenario is a keyless bundle certified by the test CA with cert,
// under a root that lists logs as CT logs.
func (w *world) sctScenario(t *testing.T, cert certFunc, logs ...*testCTLog) *scenario {
	t.Helper()
	k := mustECDSA(t, elliptic.P256())
	s := w.crafted(t, w.dsseBundle(t, k, cert(t, k.Public()), crypto.SHA256, InTotoPayloadType, w.statement, ""), nil)
	s.root.CTLogs = nil
	for _, l := range logs {
		s.root.CTLogs = append(s.root.CTLogs, l.log())
	}
	return s
}

func testSCTs(t *testing.T, w *world) {
	ctA, ctB := newTestCTLog(t, "https://ct-a.example"), newTestCTLog(t, "https://ct-b.example")
	withSCTs := func(logs []*testCTLog, edit func(i int, s *ct.SignedCertificateTimestamp)) certFunc {
		return func(t *testing.T, pub crypto.PublicKey) *x509.Certificate {
			return w.ca.issueWithSCTs(t, pub, logs, edit)
		}
	}
	withExt := func(ext pkix.Extension) certFunc {
		return func(t *testing.T, pub crypto.PublicKey) *x509.Certificate {
			return w.ca.issue(t, pub, func(c *x509.Certificate) { c.ExtraExtensions = append(c.ExtraExtensions, ext) })
		}
	}
	one := []*testCTLog{ctA}
	accepts := []struct {
		name  string
		setup func(t *testing.T) *scenario
		want  int
	}{
		{"one SCT, root lists its log", func(t *testing.T) *scenario { return w.sctScenario(t, withSCTs(one, nil), ctA) }, 1},
		{"SCTs of two logs, two required", func(t *testing.T) *scenario {
			s := w.sctScenario(t, withSCTs([]*testCTLog{ctA, ctB}, nil), ctA, ctB)
			s.opts.SCTThreshold = 2
			return s
		}, 2},
		{"SCTs of a listed and an unlisted log", func(t *testing.T) *scenario { return w.sctScenario(t, withSCTs([]*testCTLog{ctB, ctA}, nil), ctA) }, 1},
		{"no SCT, checks unsafely skipped", func(t *testing.T) *scenario {
			s := w.sctScenario(t, withExt(pkix.Extension{Id: asn1.ObjectIdentifier{1, 2, 3}, Value: []byte{5, 0}}), ctA)
			s.opts.UnsafeSkipSCT = true
			return s
		}, 0},
		{"no SCT, root lists no CT log", func(t *testing.T) *scenario {
			return w.sctScenario(t, withExt(pkix.Extension{Id: asn1.ObjectIdentifier{1, 2, 3}, Value: []byte{5, 0}}))
		}, 0},
	}
	for _, c := range accepts {
		t.Run("accepts/"+c.name, func(t *testing.T) {
			res, err := c.setup(t).verify()
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.SCTs != c.want {
				t.Errorf("%d verified SCTs, want %d", res.SCTs, c.want)
			}
		})
	}
	rejects := []struct {
		check, fault string
		setup        func(t *testing.T) *scenario
		msg          string
	}{
		{"sct.go: an SCT of a trusted log", "no SCT", func(t *testing.T) *scenario {
			return w.sctScenario(t, withExt(pkix.Extension{Id: asn1.ObjectIdentifier{1, 2, 3}, Value: []byte{5, 0}}), ctA)
		},
			"0 verified SCTs, need 1"},
		{"sct.go: an SCT of a trusted log", "SCT of an unlisted log", func(t *testing.T) *scenario { return w.sctScenario(t, withSCTs([]*testCTLog{ctB}, nil), ctA) },
			"0 verified SCTs, need 1"},
		{"sct.go: SCT signature", "signature bit flipped", func(t *testing.T) *scenario {
			return w.sctScenario(t, withSCTs(one, func(_ int, s *ct.SignedCertificateTimestamp) { s.Signature.Signature[7] ^= 1 }), ctA)
		}, "SCT from https://ct-a.example:"},
		{"sct.go: SCT signature", "timestamp changed", func(t *testing.T) *scenario {
			return w.sctScenario(t, withSCTs(one, func(_ int, s *ct.SignedCertificateTimestamp) { s.Timestamp++ }), ctA)
		}, "SCT from https://ct-a.example:"},
		{"sct.go: one SCT per log", "two SCTs of one log, two required", func(t *testing.T) *scenario {
			s := w.sctScenario(t, withSCTs([]*testCTLog{ctA, ctA}, nil), ctA, ctB)
			s.opts.SCTThreshold = 2
			return s
		}, "1 verified SCTs, need 2"},
		{"sct.go: SCT within the log's validity", "log window ended", func(t *testing.T) *scenario {
			s := w.sctScenario(t, withSCTs(one, nil), ctA)
			s.root.CTLogs[0].ValidFor.End = time.Now().Add(-time.Hour)
			return s
		}, "SCT from https://ct-a.example outside the log's validity"},
		{"sct.go: SCT list extension is an octet string", "a sequence", func(t *testing.T) *scenario {
			return w.sctScenario(t, withExt(pkix.Extension{Id: oidSCTs, Value: []byte{0x30, 0}}), ctA)
		}, "malformed SCT list extension"},
		{"sct.go: SCT list extension is an octet string", "trailing data", func(t *testing.T) *scenario {
			return w.sctScenario(t, withExt(pkix.Extension{Id: oidSCTs, Value: append(sctListExt(t, &ct.SignedCertificateTimestamp{Signature: ct.DigitallySigned{Signature: []byte{0}}}).Value, 0)}), ctA)
		}, "malformed SCT list extension"},
		{"sct.go: SCT list is TLS-encoded", "garbage", func(t *testing.T) *scenario {
			return w.sctScenario(t, withExt(pkix.Extension{Id: oidSCTs, Value: []byte{4, 3, 0, 9, 9}}), ctA)
		}, "malformed SCT list"},
		{"sct.go: SCT list is TLS-encoded", "trailing data", func(t *testing.T) *scenario {
			v, _ := asn1.Marshal([]byte{0, 3, 0, 1, 7, 0})
			return w.sctScenario(t, withExt(pkix.Extension{Id: oidSCTs, Value: v}), ctA)
		}, "malformed SCT list"},
		{"sct.go: SCTs parse", "garbage SCT", func(t *testing.T) *scenario {
			v, _ := asn1.Marshal([]byte{0, 3, 0, 1, 7})
			return w.sctScenario(t, withExt(pkix.Extension{Id: oidSCTs, Value: v}), ctA)
		}, "parse SCT list"},
		{"sct.go: certificate parses for CT", "empty authority information access, which Go accepts", func(t *testing.T) *scenario {
			return w.sctScenario(t, func(t *testing.T, pub crypto.PublicKey) *x509.Certificate {
				return w.ca.issue(t, pub, func(c *x509.Certificate) {
					c.ExtraExtensions = append(c.ExtraExtensions,
						sctListExt(t, &ct.SignedCertificateTimestamp{LogID: ct.LogID{KeyID: ctA.id}, Timestamp: uint64(time.Now().UnixMilli()), Signature: ct.DigitallySigned{Signature: []byte{0}}}),
						pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 1}, Value: []byte{0x30, 0}})
				})
			}, ctA)
		}, "parse certificate for SCT"},
		{"sct.go: SCTs need the issuer", "certificate is the trusted root", func(t *testing.T) *scenario {
			k := mustECDSA(t, elliptic.P256())
			issuer, _ := asn1.MarshalWithParams(testIssuer, "utf8")
			tmpl := &x509.Certificate{
				SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "self"},
				NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
				KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
				EmailAddresses: []string{"self@example.com"}, ExtraExtensions: []pkix.Extension{{Id: oidIssuerV2, Value: issuer}},
			}
			self := createCert(t, tmpl, tmpl, k.Public(), k)
			s := w.crafted(t, w.dsseBundle(t, k, self, crypto.SHA256, InTotoPayloadType, w.statement, ""), nil)
			s.policy = Policy{Identities: []Identity{{SAN: "self@example.com", Issuer: testIssuer}}}
			s.root.CertificateAuthorities = []trustroot.CertificateAuthority{{URI: "self", Root: self}}
			s.root.CTLogs = []trustroot.Log{ctA.log()}
			return s
		}, "certificate chain has no issuer"},
	}
	for _, c := range rejects {
		t.Run("rejects/"+c.check+": "+c.fault, func(t *testing.T) {
			_, err := c.setup(t).verify()
			var verr *Error
			if !errors.As(err, &verr) || verr.Check != CheckSCT {
				t.Fatalf("Verify = %v, want an sct failure", err)
			}
			if !strings.Contains(err.Error(), c.msg) || strings.Contains(err.Error(), "%!") {
				t.Fatalf("error %q, want it to contain %q", err, c.msg)
			}
		})
	}
	t.Run("ctParse", func(t *testing.T) {
		if _, err := ctParse([]byte("x"), w.ca.cert.Raw); err == nil || !strings.Contains(err.Error(), "parse certificate for SCT") {
			t.Errorf("ctParse of a bad leaf: %v", err)
		}
		if _, err := ctParse(w.ca.cert.Raw, []byte("x")); err == nil || !strings.Contains(err.Error(), "parse issuer for SCT") {
			t.Errorf("ctParse of a bad issuer: %v", err)
		}
	})
}

// testUnreachable calls guarded steps with inputs Verify's earlier checks
// never let through.
func testUnreachable(t *testing.T, w *world) {
	t.Run("rekor v2 leaf of an unusable key", func(t *testing.T) {
		s := w.scenario(t, keyBlobV2)
		b, err := bundle.FromProto(s.pb)
		if err != nil {
			t.Fatal(err)
		}
		v, err := New(s.root, s.opts)
		if err != nil {
			t.Fatal(err)
		}
		e := b.TlogEntries()[0]
		err = v.verifyInclusion(b, &signer{pub: mustECDSA(t, elliptic.P224()).Public()}, e, v.tlogs[string(e.Proto.GetLogId().GetKeyId())])
		if err == nil || !strings.Contains(err.Error(), "unsupported key") {
			t.Errorf("verifyInclusion = %v", err)
		}
	})
}
