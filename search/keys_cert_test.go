package search

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/signetproject/signet/fulcio"
)

func TestReadCertificateOtherName(t *testing.T) {
	type otherName struct {
		ID    asn1.ObjectIdentifier
		Value string `asn1:"utf8,explicit,tag:0"`
	}
	type generalNames struct {
		OtherName otherName `asn1:"tag:0"`
	}
	san, err := asn1.Marshal(generalNames{otherName{ID: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 7}, Value: "builder!ci.example"}})
	if err != nil {
		t.Fatal(err)
	}
	issuer, _ := asn1.MarshalWithParams("https://ci.example", "utf8")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Critical: true, Value: san}, {Id: append(asn1.ObjectIdentifier{}, append(oidFulcio, 8)...), Value: issuer}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	f, err := fulcio.Summarize(cert)
	if err != nil || f.SAN != "builder!ci.example" || f.Issuer != "https://ci.example" {
		t.Fatalf("fulcio.Summarize = %+v, %v", f, err)
	}
	r := &Record{Signers: []Signer{certSigner(der)}}
	keys := r.Keys(nil)
	for _, want := range []string{"identity:builder!ci.example", "issuer:https://ci.example"} {
		if !slices.Contains(keys, want) {
			t.Errorf("keys %v lack %s", keys, want)
		}
	}
}
