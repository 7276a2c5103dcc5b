package bundle

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"math/big"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
)

// testCertificates returns n distinct self-signed certificates.
func testCertificates(t testing.TB, n int) [][]byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var ders [][]byte
	for i := range n {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 1))}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
		if err != nil {
			t.Fatal(err)
		}
		ders = append(ders, der)
	}
	return ders
}

// TestCertCacheBounded fills the cache past its bound: it never holds
// more than maxCachedCertificates parses, and keeps serving correct ones.
func TestCertCacheBounded(t *testing.T) {
	ders := testCertificates(t, maxCachedCertificates+10)
	for _, der := range ders {
		c, err := parseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		certCache.mu.Lock()
		n := len(certCache.certs)
		certCache.mu.Unlock()
		if n > maxCachedCertificates {
			t.Fatalf("cache holds %d certificates, bound %d", n, maxCachedCertificates)
		}
		if string(c.Raw) != string(der) {
			t.Fatal("cache returned another certificate")
		}
	}
	again, err := parseCertificate(ders[len(ders)-1])
	if err != nil {
		t.Fatal(err)
	}
	if again2, _ := parseCertificate(ders[len(ders)-1]); again2 != again {
		t.Error("a certificate parsed twice in a row is not shared")
	}
}

// TestCertCacheConcurrent parses the same certificates from several
// goroutines (run with -race).
func TestCertCacheConcurrent(t *testing.T) {
	ders := testCertificates(t, 8)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				for _, der := range ders {
					c, err := parseCertificate(der)
					if err != nil || string(c.Raw) != string(der) {
						t.Errorf("parse: %v", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// FuzzParseCertificate checks the cached parse against crypto/x509's: the
// same verdict and, for a certificate, the same value, first and second
// time (when the second may come from the cache).
func FuzzParseCertificate(f *testing.F) {
	for _, der := range testCertificates(f, 2) {
		f.Add(der)
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.sigstore.json"))
	for _, file := range files {
		b, err := Decode(readVector(f, filepath.Base(file)))
		if err != nil {
			f.Fatal(err)
		}
		if c := b.Certificate(); c != nil {
			f.Add(c.Raw)
		}
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		want, werr := x509.ParseCertificate(der)
		for range 2 {
			got, err := parseCertificate(der)
			if (err == nil) != (werr == nil) {
				t.Fatalf("cached parse: %v, crypto/x509: %v", err, werr)
			}
			if err == nil && !reflect.DeepEqual(got, want) {
				t.Fatal("cached parse differs from crypto/x509's")
			}
		}
	})
}
