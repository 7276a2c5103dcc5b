package ca_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/signetproject/signet/ca"
	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/oidc"
)

// brokenSigner is a key that cannot sign, or whose public key no
// certificate can carry.
type brokenSigner struct {
	crypto.Signer
	pub crypto.PublicKey
}

func (b brokenSigner) Public() crypto.PublicKey {
	if b.pub != nil {
		return b.pub
	}
	return b.Signer.Public()
}

func (b brokenSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("the HSM is on fire")
}

func mustKey(t *testing.T) crypto.Signer {
	t.Helper()
	k, err := keys.Generate(keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestIssueFailures covers the errors of Issue that well-formed
// requests never meet.
func TestIssueFailures(t *testing.T) {
	c := newCA(t)
	email := oidc.Identity{Issuer: "https://a.example", Email: "alice@example.com"}
	//lint:ignore SA1019 an invalid key on purpose, which only the raw coordinates can make
	offCurve := &ecdsa.PublicKey{Curve: elliptic.P256(), X: big.NewInt(1), Y: big.NewInt(1)}
	for _, tt := range []struct {
		name string
		c    *ca.CA
		id   oidc.Identity
		pub  crypto.PublicKey
		want string
	}{
		{"public key not on its curve", c, email, offCurve, "public key: P256 point not on curve"},
		{"CA key cannot sign", brokenCA(t), email, mustKey(t).Public(), "sign certificate: the HSM is on fire"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.c.Issue(tt.id, tt.pub); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Issue error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// brokenCA has a valid chain and an issuing key that cannot sign.
func brokenCA(t *testing.T) *ca.CA {
	t.Helper()
	rootKey, interKey := mustKey(t), mustKey(t)
	chain, err := ca.NewHierarchy("signet test", rootKey, interKey, testNow)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ca.New(brokenSigner{Signer: interKey}, chain)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHierarchyFailures(t *testing.T) {
	good := mustKey(t)
	if _, err := ca.NewHierarchy("o", brokenSigner{Signer: good}, mustKey(t), testNow); err == nil || !strings.Contains(err.Error(), "create root certificate: the HSM is on fire") {
		t.Errorf("NewHierarchy with a root key that cannot sign: %v", err)
	}
	if _, err := ca.NewHierarchy("o", good, brokenSigner{Signer: good, pub: "not a key"}, testNow); err == nil || !strings.Contains(err.Error(), "create intermediate certificate") {
		t.Errorf("NewHierarchy with an intermediate key no certificate can carry: %v", err)
	}
	if _, err := ca.LoadOrCreateHierarchy(t.TempDir(), "o", brokenSigner{Signer: good}, mustKey(t), testNow); err == nil || !strings.Contains(err.Error(), "the HSM is on fire") {
		t.Errorf("LoadOrCreateHierarchy with a root key that cannot sign: %v", err)
	}

	// procfs refuses new files even to root, and has no root.pem.
	if runtime.GOOS == "linux" {
		if _, err := ca.LoadOrCreateHierarchy("/proc/self", "o", good, mustKey(t), testNow); err == nil || !strings.Contains(err.Error(), "root.pem") {
			t.Errorf("LoadOrCreateHierarchy into an unwritable directory: %v", err)
		}
	}

	dir := t.TempDir()
	rootKey, interKey := mustKey(t), mustKey(t)
	if _, err := ca.LoadOrCreateHierarchy(dir, "o", rootKey, interKey, testNow); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.LoadOrCreateHierarchy(dir, "o", brokenSigner{Signer: rootKey, pub: "not a key"}, interKey, testNow); err == nil || !strings.Contains(err.Error(), "unsupported public key type") {
		t.Errorf("LoadOrCreateHierarchy with a key of no known type: %v", err)
	}
	// A root certificate whose key algorithm Go does not know parses with
	// no key, which cannot be compared.
	rootPEM, err := os.ReadFile(filepath.Join(dir, "root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots, err := ca.ParsePEMChain(rootPEM)
	if err != nil {
		t.Fatal(err)
	}
	ecPublicKey := []byte{0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01}
	der := bytes.Clone(roots[0].Raw)
	der[bytes.Index(der, ecPublicKey)+len(ecPublicKey)-1] = 0x7f
	if err := os.WriteFile(filepath.Join(dir, "root.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.LoadOrCreateHierarchy(dir, "o", rootKey, interKey, testNow); err == nil || !strings.Contains(err.Error(), "root.pem: x509: unsupported public key type") {
		t.Errorf("LoadOrCreateHierarchy with a root key of unknown type: %v", err)
	}
	bad := "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
	if err := os.WriteFile(filepath.Join(dir, "root.pem"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.LoadOrCreateHierarchy(dir, "o", rootKey, interKey, testNow); err == nil || !strings.Contains(err.Error(), "root.pem: x509:") {
		t.Errorf("LoadOrCreateHierarchy with a garbage root certificate: %v", err)
	}
	if _, err := ca.ParsePEMChain([]byte(bad)); err == nil || !strings.Contains(err.Error(), "x509:") {
		t.Errorf("ParsePEMChain of a garbage certificate: %v", err)
	}
}
