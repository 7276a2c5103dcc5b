package tsa

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	tsx509 "github.com/sigstore/timestamp-authority/v2/pkg/x509"
)

func TestCreateChainProfile(t *testing.T) {
	notBefore := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	rootKey, tsaKey := newKey(t), newKey(t)
	chain, err := CreateChain(rootKey, tsaKey, ChainOptions{Organization: "example", NotBefore: notBefore, Validity: 48 * time.Hour})
	if err != nil {
		t.Fatalf("CreateChain: %v", err)
	}
	if len(chain) != 2 {
		t.Fatalf("chain has %d certificates, want 2", len(chain))
	}
	leaf, root := chain[0], chain[1]

	type profile struct {
		Subject, Issuer      string
		NotBefore, NotAfter  time.Time
		IsCA                 bool
		MaxPathLen           int
		KeyUsage             x509.KeyUsage
		ExtKeyUsage          []x509.ExtKeyUsage
		CriticalEKU          bool
		HasSKID, AKIDIsRoots bool
	}
	describe := func(c *x509.Certificate) profile {
		p := profile{
			Subject: c.Subject.String(), Issuer: c.Issuer.String(),
			NotBefore: c.NotBefore, NotAfter: c.NotAfter,
			IsCA: c.IsCA, MaxPathLen: c.MaxPathLen, KeyUsage: c.KeyUsage, ExtKeyUsage: c.ExtKeyUsage,
			HasSKID: len(c.SubjectKeyId) == 20, AKIDIsRoots: bytes.Equal(c.AuthorityKeyId, root.SubjectKeyId),
		}
		for _, ext := range c.Extensions {
			if ext.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 37}) {
				p.CriticalEKU = ext.Critical
			}
		}
		return p
	}
	notAfter := notBefore.Add(48 * time.Hour)
	want := []profile{
		{Subject: "CN=example Timestamping,O=example", Issuer: "CN=example TSA Root,O=example", NotBefore: notBefore, NotAfter: notAfter,
			MaxPathLen: -1, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
			CriticalEKU: true, HasSKID: true, AKIDIsRoots: true},
		{Subject: "CN=example TSA Root,O=example", Issuer: "CN=example TSA Root,O=example", NotBefore: notBefore, NotAfter: notAfter,
			IsCA: true, MaxPathLen: 0, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
			HasSKID: true}, // crypto/x509 omits the AKID of self-signed certificates
	}
	if diff := cmp.Diff(want, []profile{describe(leaf), describe(root)}); diff != "" {
		t.Errorf("certificate profile (-want +got):\n%s", diff)
	}
	if leaf.SerialNumber.Cmp(root.SerialNumber) == 0 || leaf.SerialNumber.Sign() <= 0 {
		t.Errorf("serial numbers leaf %v root %v, want distinct positive", leaf.SerialNumber, root.SerialNumber)
	}
}

// TestCreateChainSigstoreCheck runs the chain through the check Sigstore's
// timestamp authority applies to its own chains at startup.
func TestCreateChainSigstoreCheck(t *testing.T) {
	tsaKey := newKey(t)
	chain, err := CreateChain(newKey(t), tsaKey, ChainOptions{})
	if err != nil {
		t.Fatalf("CreateChain: %v", err)
	}
	if err := tsx509.VerifyCertChain(chain, tsaKey, true); err != nil {
		t.Fatalf("sigstore VerifyCertChain: %v", err)
	}
	if err := tsx509.VerifyCertChain(chain, newKey(t), true); err == nil {
		t.Fatal("sigstore VerifyCertChain accepted the chain for another key")
	}
}

func TestCreateChainErrors(t *testing.T) {
	k := newKey(t)
	tests := []struct {
		name         string
		root, leaf   crypto.Signer
		opts         ChainOptions
		wantContains string
	}{
		{"nil root", nil, k, ChainOptions{}, "nil signer"},
		{"nil leaf", k, nil, ChainOptions{}, "nil signer"},
		{"negative validity", k, k, ChainOptions{Validity: -time.Hour}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CreateChain(tt.root, tt.leaf, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantContains) {
				t.Fatalf("CreateChain error %v, want one mentioning %q", err, tt.wantContains)
			}
		})
	}
}

func TestParseChainPEM(t *testing.T) {
	chain, err := CreateChain(newKey(t), newKey(t), ChainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	good := EncodeChainPEM(chain)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})
	badCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}})
	tests := []struct {
		name    string
		in      []byte
		want    int
		wantErr string
	}{
		{"chain", good, 2, ""},
		{"surrounding whitespace", append(append([]byte("\n  "), good...), "\n\n"...), 2, ""},
		{"empty", nil, 0, "no certificates"},
		{"not PEM", []byte("hello"), 0, "unexpected data after certificate 0"},
		{"leading junk", append([]byte("junk\n"), good...), 0, "unexpected data after certificate 0"},
		{"trailing junk", append(append([]byte{}, good...), "junk"...), 0, "unexpected data after certificate 2"},
		{"unterminated block", []byte("-----BEGIN CERTIFICATE-----\nAA==\n"), 0, "malformed PEM block 0"},
		{"key block", append(append([]byte{}, good...), keyPEM...), 0, `PEM block 2 is "PRIVATE KEY"`},
		{"bad DER", badCert, 0, "parse TSA chain certificate 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseChainPEM(tt.in)
			errText := ""
			if err != nil {
				errText = err.Error()
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && !strings.Contains(errText, tt.wantErr) {
				t.Fatalf("ParseChainPEM error %q, want one mentioning %q", errText, tt.wantErr)
			}
			if len(got) != tt.want {
				t.Fatalf("got %d certificates, want %d", len(got), tt.want)
			}
			for i := range got {
				if !got[i].Equal(chain[i]) {
					t.Errorf("certificate %d differs from the encoded one", i)
				}
			}
		})
	}
}

func FuzzParseChainPEM(f *testing.F) {
	chain, err := CreateChain(newKey(f), newKey(f), ChainOptions{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(EncodeChainPEM(chain))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseChainPEM(data)
		if err != nil {
			return
		}
		// Round trip: what parses re-encodes to PEM that parses to the same certificates.
		again, err := ParseChainPEM(EncodeChainPEM(got))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if len(again) != len(got) {
			t.Fatalf("re-parse gave %d certificates, want %d", len(again), len(got))
		}
		for i := range got {
			if !again[i].Equal(got[i]) {
				t.Fatalf("certificate %d changed in the round trip", i)
			}
		}
	})
}
