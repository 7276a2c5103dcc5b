package ca_test

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signetproject/signet/ca"
)

// Test keys are made once: RSA generation is slow on shared CI cores.
var testKeys = sync.OnceValue(func() map[string]crypto.Signer {
	m := map[string]crypto.Signer{}
	for name, c := range map[string]elliptic.Curve{"P-224": elliptic.P224(), "P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()} {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			panic(err)
		}
		m[name] = k
	}
	for name, bits := range map[string]int{"RSA-1024": 1024, "RSA-2048": 2048} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			panic(err)
		}
		m[name] = k
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	m["Ed25519"] = ed
	return m
})

func key(name string) crypto.Signer { return testKeys()[name] }

// rsaPublicKey is an RSA public key with a modulus of exactly bits bits;
// CheckKey only looks at size and exponent, so no primes are needed.
func rsaPublicKey(bits, e int) *rsa.PublicKey {
	n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	return &rsa.PublicKey{N: n.Or(n, big.NewInt(1)), E: e}
}

func TestCheckKey(t *testing.T) {
	x25519, _ := ecdh.X25519().GenerateKey(rand.Reader)
	tests := []struct {
		name    string
		pub     crypto.PublicKey
		wantErr string // "" when accepted
	}{
		{"P-224", key("P-224").Public(), "P-224 is not allowed"},
		{"P-256", key("P-256").Public(), ""},
		{"P-384", key("P-384").Public(), ""},
		{"P-521", key("P-521").Public(), ""},
		{"RSA 1024", rsaPublicKey(1024, 65537), "1024 bits is too weak"},
		{"RSA 2047", rsaPublicKey(2047, 65537), "2047 bits is too weak"},
		{"RSA 2048", rsaPublicKey(2048, 65537), ""},
		{"RSA 3072", rsaPublicKey(3072, 65537), ""},
		{"RSA 4096", rsaPublicKey(4096, 65537), ""},
		{"RSA 8192", rsaPublicKey(8192, 65537), "8192 bits is too large"},
		{"RSA exponent 3", rsaPublicKey(2048, 3), "exponent 3 is not allowed"},
		{"Ed25519", key("Ed25519").Public(), ""},
		{"Ed25519 short", ed25519.PublicKey(make([]byte, 31)), "Ed25519 key has 31 bytes"},
		{"X25519", x25519.PublicKey(), "unsupported key type"},
		{"nil", nil, "unsupported key type"},
		{"ECDSA private key", key("P-256"), "unsupported key type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ca.CheckKey(tt.pub)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckKey: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("CheckKey accepted the key")
			}
			if !errors.Is(err, ca.ErrBadRequest) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q: want ErrBadRequest mentioning %q", err, tt.wantErr)
			}
		})
	}
}

// proveSubject signs challenge the way Sigstore clients (cosign,
// sigstore-go) make a proof of possession.
func proveSubject(t *testing.T, k crypto.Signer, challenge string) []byte {
	t.Helper()
	var (
		digest []byte
		opts   crypto.SignerOpts
	)
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P384():
			s := sha512.Sum384([]byte(challenge))
			digest, opts = s[:], crypto.SHA384
		case elliptic.P521():
			s := sha512.Sum512([]byte(challenge))
			digest, opts = s[:], crypto.SHA512
		default:
			s := sha256.Sum256([]byte(challenge))
			digest, opts = s[:], crypto.SHA256
		}
	case *rsa.PrivateKey:
		s := sha256.Sum256([]byte(challenge))
		digest, opts = s[:], crypto.SHA256
	case ed25519.PrivateKey:
		digest, opts = []byte(challenge), crypto.Hash(0)
	}
	sig, err := k.Sign(rand.Reader, digest, opts)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func TestVerifyProofOfPossession(t *testing.T) {
	const challenge = "alice@example.com"
	type test struct {
		name    string
		pub     crypto.PublicKey
		sig     []byte
		wantErr string
	}
	var tests []test
	for _, name := range []string{"P-256", "P-384", "P-521", "RSA-2048", "Ed25519"} {
		other := "P-256"
		if name == "P-256" {
			other = "P-384"
		}
		k := key(name)
		otherSameType := map[string]crypto.Signer{"P-256": mustECDSA(elliptic.P256()), "P-384": mustECDSA(elliptic.P384()),
			"P-521": mustECDSA(elliptic.P521()), "RSA-2048": key("RSA-1024"), "Ed25519": mustEd25519()}[name]
		tests = append(tests,
			test{name + " good", k.Public(), proveSubject(t, k, challenge), ""},
			test{name + " wrong challenge", k.Public(), proveSubject(t, k, "mallory@example.com"), "not a signature"},
			test{name + " other key of the same type", k.Public(), proveSubject(t, otherSameType, challenge), "not a signature"},
			test{name + " other key type", k.Public(), proveSubject(t, key(other), challenge), "not a signature"},
			test{name + " empty", k.Public(), nil, "empty"},
			test{name + " garbage", k.Public(), []byte("not a signature at all"), "not a signature"},
		)
	}
	tests = append(tests, test{"unsupported key", &ecdh.PublicKey{}, []byte("x"), "unsupported key type"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ca.VerifyProofOfPossession(tt.pub, tt.sig, challenge)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("VerifyProofOfPossession: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("proof accepted")
			}
			if !errors.Is(err, ca.ErrBadRequest) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q: want ErrBadRequest mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func mustECDSA(c elliptic.Curve) crypto.Signer {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func mustEd25519() crypto.Signer {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func pkixDER(t *testing.T, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestParsePublicKey(t *testing.T) {
	p256, rsaKey, ed := key("P-256").Public(), key("RSA-2048").Public().(*rsa.PublicKey), key("Ed25519").Public()
	pemOf := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name    string
		content []byte
		want    crypto.PublicKey
		wantErr string
	}{
		{"PEM ECDSA", pemOf("PUBLIC KEY", pkixDER(t, p256)), p256, ""},
		{"PEM RSA", pemOf("PUBLIC KEY", pkixDER(t, rsaKey)), rsaKey, ""},
		{"PEM Ed25519", pemOf("PUBLIC KEY", pkixDER(t, ed)), ed, ""},
		{"PEM with leading text", append([]byte("key:\n"), pemOf("PUBLIC KEY", pkixDER(t, p256))...), p256, ""},
		{"RSA PUBLIC KEY PEM", pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(rsaKey)), rsaKey, ""},
		{"base64 DER", []byte(b64(pkixDER(t, p256))), p256, ""},
		{"base64 DER with newline", []byte(b64(pkixDER(t, ed)) + "\n"), ed, ""},
		{"raw DER", pkixDER(t, p256), p256, ""},
		{"raw DER RSA", pkixDER(t, rsaKey), rsaKey, ""},
		{"empty", nil, nil, "empty"},
		{"garbage", []byte("hello, world"), nil, "not PEM or DER"},
		{"base64 garbage", []byte(b64([]byte("hello, world"))), nil, "not PEM or DER"},
		{"PEM with garbage body", pemOf("PUBLIC KEY", []byte("nope")), nil, "not PEM or DER"},
		{"RSA PUBLIC KEY PEM with PKIX body", pemOf("RSA PUBLIC KEY", pkixDER(t, rsaKey)), nil, "public key"},
		{"certificate PEM", pemOf("CERTIFICATE", pkixDER(t, p256)), nil, `unexpected PEM block "CERTIFICATE"`},
		{"private key PEM", pemOf("PRIVATE KEY", []byte{0x30, 0}), nil, `unexpected PEM block "PRIVATE KEY"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ca.ParsePublicKey(tt.content)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParsePublicKey: %v", err)
				}
				if !got.(interface{ Equal(crypto.PublicKey) bool }).Equal(tt.want) {
					t.Errorf("ParsePublicKey = %v, want %v", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParsePublicKey = %T, want error", got)
			}
			if !errors.Is(err, ca.ErrBadRequest) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q: want ErrBadRequest mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func csrDER(t *testing.T, k crypto.Signer) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "alice@example.com"}, EmailAddresses: []string{"alice@example.com"},
	}, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestParseCSR(t *testing.T) {
	good := csrDER(t, key("P-256"))
	tampered := append([]byte(nil), good...)
	tampered[len(tampered)-1] ^= 0x01 // last byte of the signature
	pemOf := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	tests := []struct {
		name    string
		data    []byte
		want    crypto.PublicKey
		wantErr string
	}{
		{"PEM", pemOf("CERTIFICATE REQUEST", good), key("P-256").Public(), ""},
		{"NEW CERTIFICATE REQUEST PEM", pemOf("NEW CERTIFICATE REQUEST", good), key("P-256").Public(), ""},
		{"DER", good, key("P-256").Public(), ""},
		{"RSA", csrDER(t, key("RSA-2048")), key("RSA-2048").Public(), ""},
		{"Ed25519", csrDER(t, key("Ed25519")), key("Ed25519").Public(), ""},
		{"bad signature", tampered, nil, "CSR signature"},
		{"bad signature PEM", pemOf("CERTIFICATE REQUEST", tampered), nil, "CSR signature"},
		{"weak RSA key", csrDER(t, key("RSA-1024")), nil, "too weak"},
		{"P-224 key", csrDER(t, key("P-224")), nil, "P-224"},
		{"wrong PEM type", pemOf("CERTIFICATE", good), nil, `unexpected PEM block "CERTIFICATE"`},
		{"garbage", []byte("nope"), nil, "CSR"},
		{"empty", nil, nil, "CSR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			csr, err := ca.ParseCSR(tt.data)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseCSR: %v", err)
				}
				if diff := cmp.Diff(pkixDER(t, tt.want), pkixDER(t, csr.PublicKey)); diff != "" {
					t.Errorf("CSR key (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatal("ParseCSR accepted the CSR")
			}
			if !errors.Is(err, ca.ErrBadRequest) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q: want ErrBadRequest mentioning %q", err, tt.wantErr)
			}
		})
	}
}
