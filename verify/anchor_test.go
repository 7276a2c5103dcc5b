package verify

import (
	"crypto/elliptic"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net/url"
	"testing"
	"time"

	"github.com/signetproject/signet/trustroot"
)

// TestAnchoredChainAgreesWithX509: verifying a leaf against a CA's issuing
// certificate, with the links above it checked once, gives x509.Verify's
// verdict on the whole chain, for chains that differ from a plain root ->
// intermediate -> leaf in one way above the leaf.
func TestAnchoredChainAgreesWithX509(t *testing.T) {
	now := time.Now()
	at := now.Add(-time.Minute) // the signing time the leaf is verified at
	rootKey, otherKey, interKey, leafKey := mustECDSA(t, elliptic.P256()), mustECDSA(t, elliptic.P256()), mustECDSA(t, elliptic.P256()), mustECDSA(t, elliptic.P256())
	san, err := url.Parse(testSAN)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := func(name string) *x509.Certificate {
		return &x509.Certificate{
			SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, MaxPathLen: -1,
		}
	}
	type chain struct{ root, inter, leaf *x509.Certificate }
	build := func(editRoot, editInter, editLeaf func(*x509.Certificate)) chain {
		rt := caTmpl("root")
		if editRoot != nil {
			editRoot(rt)
		}
		root := createCert(t, rt, rt, rootKey.Public(), rootKey)
		it := caTmpl("intermediate")
		if editInter != nil {
			editInter(it)
		}
		inter := createCert(t, it, root, interKey.Public(), rootKey)
		lt := &x509.Certificate{
			SerialNumber: big.NewInt(now.UnixNano()), NotBefore: now.Add(-10 * time.Minute), NotAfter: now.Add(10 * time.Minute),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, URIs: []*url.URL{san},
		}
		if editLeaf != nil {
			editLeaf(lt)
		}
		return chain{root: root, inter: inter, leaf: createCert(t, lt, inter, leafKey.Public(), interKey)}
	}
	// An intermediate with the root's name and key usage, signed by another key.
	plain := build(nil, nil, nil)
	forged := func() chain {
		c := plain // the same root, whose link to the genuine intermediate verified before
		other := createCert(t, caTmpl("root"), caTmpl("root"), otherKey.Public(), otherKey)
		c.inter = createCert(t, caTmpl("intermediate"), other, interKey.Public(), otherKey)
		c.leaf = createCert(t, &x509.Certificate{SerialNumber: big.NewInt(7), NotBefore: now.Add(-10 * time.Minute), NotAfter: now.Add(10 * time.Minute),
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, URIs: []*url.URL{san}}, c.inter, leafKey.Public(), interKey)
		return c
	}
	// An intermediate naming another issuer, signed by the root's key.
	misnamed := func() chain {
		c := build(nil, nil, nil)
		c.inter = createCert(t, caTmpl("intermediate"), caTmpl("another root"), interKey.Public(), rootKey)
		c.leaf = createCert(t, &x509.Certificate{SerialNumber: big.NewInt(8), NotBefore: now.Add(-10 * time.Minute), NotAfter: now.Add(10 * time.Minute),
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, URIs: []*url.URL{san}}, c.inter, leafKey.Public(), interKey)
		return c
	}
	policy := asn1.ObjectIdentifier{1, 2, 3, 4}
	// Policy constraints with requireExplicitPolicy 0, which Go parses but
	// does not write.
	requireExplicitPolicy := pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 36}, Critical: true, Value: []byte{0x30, 0x03, 0x80, 0x01, 0x00}}
	for _, tt := range []struct {
		name     string
		chain    chain
		anchored bool // whether the CA gets an anchored chain
		accept   bool
	}{
		{"plain chain", plain, true, true},
		{"intermediate signed by another key under the root's name", forged(), false, false},
		{"intermediate names another issuer", misnamed(), false, false},
		{"root expired before signing", build(func(c *x509.Certificate) { c.NotAfter = at.Add(-time.Second) }, nil, nil), true, false},
		{"root not yet valid at signing", build(func(c *x509.Certificate) { c.NotBefore = at.Add(time.Second) }, nil, nil), true, false},
		{"root allows no intermediates", build(func(c *x509.Certificate) { c.MaxPathLen, c.MaxPathLenZero = 0, true }, nil, nil), false, false},
		{"root allows one intermediate", build(func(c *x509.Certificate) { c.MaxPathLen = 1 }, nil, nil), true, true},
		{"root restricted to server auth", build(func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} }, nil, nil), false, false},
		{"root with code signing usage", build(func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning} }, nil, nil), false, true},
		{"root constrains names away from the leaf", build(func(c *x509.Certificate) { c.PermittedURIDomains = []string{"other.example"} }, nil, nil), false, false},
		{"root with an unknown critical extension", build(func(c *x509.Certificate) {
			c.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, Critical: true, Value: []byte{5, 0}}}
		}, nil, nil), false, false},
		{"intermediate not a CA", build(nil, func(c *x509.Certificate) { c.IsCA = false }, nil), false, false},
		{"intermediate expired before signing", build(nil, func(c *x509.Certificate) { c.NotAfter = at.Add(-time.Second) }, nil), true, false},
		{"intermediate restricted to server auth", build(nil, func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} }, nil), true, false},
		{"intermediate constrains names away from the leaf", build(nil, func(c *x509.Certificate) { c.PermittedURIDomains = []string{"other.example"} }, nil), true, false},
		{"explicit policy required by the leaf, none above it", build(nil, nil, func(c *x509.Certificate) {
			c.Policies = []x509.OID{mustOID(t, policy)}
			c.ExtraExtensions = []pkix.Extension{requireExplicitPolicy}
		}), true, false},
		{"explicit policy required by the intermediate, none in the leaf", build(nil, func(c *x509.Certificate) {
			c.ExtraExtensions = []pkix.Extension{requireExplicitPolicy}
		}, nil), false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.chain
			roots, inters := x509.NewCertPool(), x509.NewCertPool()
			roots.AddCert(c.root)
			inters.AddCert(c.inter)
			_, oracle := c.leaf.Verify(x509.VerifyOptions{CurrentTime: at, Roots: roots, Intermediates: inters,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}})
			if (oracle == nil) != tt.accept {
				t.Fatalf("x509.Verify = %v, the case expects accept=%v", oracle, tt.accept)
			}
			ca := trustroot.CertificateAuthority{URI: "https://ca.example", Root: c.root, Intermediates: []*x509.Certificate{c.inter}}
			v, err := New(&trustroot.TrustedRoot{CertificateAuthorities: []trustroot.CertificateAuthority{ca}}, DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			if got := v.cas[0].anchored() != nil; got != tt.anchored {
				t.Errorf("anchored chain: %v, want %v", got, tt.anchored)
			}
			chain, err := v.chainAt(c.leaf, at)
			if (err == nil) != tt.accept {
				t.Fatalf("chainAt = %v, x509.Verify = %v", err, oracle)
			}
			if err == nil && (len(chain) != 3 || chain[0] != c.leaf || !chain[1].Equal(c.inter) || !chain[2].Equal(c.root)) {
				t.Errorf("chain %v, want leaf, intermediate, root", chain)
			}
			// And on its own, the anchored path never accepts what x509.Verify refuses.
			if _, ok := v.cas[0].anchoredChainAt(c.leaf, at); ok && !tt.accept {
				t.Errorf("anchored path accepts a chain x509.Verify refuses: %v", oracle)
			}
		})
	}
}

func mustOID(t *testing.T, id asn1.ObjectIdentifier) x509.OID {
	t.Helper()
	ints := make([]uint64, len(id))
	for i, n := range id {
		ints[i] = uint64(n)
	}
	oid, err := x509.OIDFromInts(ints)
	if err != nil {
		t.Fatal(err)
	}
	return oid
}
