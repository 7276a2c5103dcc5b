package ca_test

import (
	"crypto"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signetproject/signet/ca"
	"github.com/signetproject/signet/keys"
)

func rawChain(chain []*x509.Certificate) [][]byte {
	var out [][]byte
	for _, c := range chain {
		out = append(out, c.Raw)
	}
	return out
}

func TestLoadOrCreateHierarchy(t *testing.T) {
	gen := func() crypto.Signer {
		k, err := keys.Generate(keys.ECDSAP256)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	rootKey, interKey := gen(), gen()
	dir := t.TempDir()
	created, err := ca.LoadOrCreateHierarchy(dir, "signet test", rootKey, interKey, testNow)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if len(created) != 2 || !created[0].IsCA || !created[1].IsCA {
		t.Fatalf("created chain: %d certificates", len(created))
	}
	if err := created[0].CheckSignatureFrom(created[1]); err != nil {
		t.Errorf("intermediate is not signed by root: %v", err)
	}
	if err := created[1].CheckSignatureFrom(created[1]); err != nil {
		t.Errorf("root is not self-signed: %v", err)
	}
	for _, f := range []string{"root.pem", "intermediate.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	reloaded, err := ca.LoadOrCreateHierarchy(dir, "signet test", rootKey, interKey, testNow.Add(48*60*60*1e9))
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	if diff := cmp.Diff(rawChain(created), rawChain(reloaded)); diff != "" {
		t.Errorf("reloaded chain differs (-created +reloaded):\n%s", diff)
	}
	if _, err := ca.New(interKey, reloaded); err != nil {
		t.Errorf("reloaded chain does not make a CA: %v", err)
	}

	// Intermediate for interKey but signed by another root.
	otherRoot := gen()
	foreign, err := ca.NewHierarchy("other", otherRoot, interKey, testNow)
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rootPEM, interPEM := read("root.pem"), read("intermediate.pem")

	tests := []struct {
		name      string
		files     map[string][]byte // nil value: file absent
		root, int crypto.Signer
		wantErr   string
	}{
		{"wrong root key", map[string][]byte{"root.pem": rootPEM, "intermediate.pem": interPEM}, gen(), interKey, "root.pem: certificate does not match"},
		{"wrong intermediate key", map[string][]byte{"root.pem": rootPEM, "intermediate.pem": interPEM}, rootKey, gen(), "intermediate.pem: certificate does not match"},
		{"intermediate from another root", map[string][]byte{"root.pem": rootPEM, "intermediate.pem": ca.EncodePEM(foreign[:1])}, rootKey, interKey, "is not signed by"},
		{"only root", map[string][]byte{"root.pem": rootPEM}, rootKey, interKey, "intermediate.pem"},
		{"only intermediate", map[string][]byte{"intermediate.pem": interPEM}, rootKey, interKey, "root.pem"},
		{"garbage root", map[string][]byte{"root.pem": []byte("garbage"), "intermediate.pem": interPEM}, rootKey, interKey, "no PEM certificates"},
		{"two certificates in root.pem", map[string][]byte{"root.pem": append(append([]byte{}, rootPEM...), rootPEM...), "intermediate.pem": interPEM}, rootKey, interKey, "want one certificate, found 2"},
		{"private key in root.pem", map[string][]byte{"root.pem": []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "intermediate.pem": interPEM}, rootKey, interKey, `unexpected PEM block "PRIVATE KEY"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			chain, err := ca.LoadOrCreateHierarchy(dir, "signet test", tt.root, tt.int, testNow)
			if err == nil {
				t.Fatalf("LoadOrCreateHierarchy = %d certificates, want error", len(chain))
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not mention %q", err, tt.wantErr)
			}
			// Nothing is created or replaced on error.
			entries, _ := os.ReadDir(dir)
			if len(entries) != len(tt.files) {
				t.Errorf("directory has %d entries after the error, want %d", len(entries), len(tt.files))
			}
		})
	}
}

func TestNewHierarchyProfile(t *testing.T) {
	rootKey, _ := keys.Generate(keys.ECDSAP384)
	interKey, _ := keys.Generate(keys.Ed25519)
	chain, err := ca.NewHierarchy("Example Org", rootKey, interKey, testNow)
	if err != nil {
		t.Fatal(err)
	}
	inter, root := chain[0], chain[1]
	type profile struct {
		Subject, Issuer       string
		IsCA                  bool
		MaxPathLen            int
		MaxPathLenZero        bool
		KeyUsage              x509.KeyUsage
		NotBeforeBeforeNow    bool
		ValidityYears         int
		SubjectKeyIDPresent   bool
		AuthorityKeyIDMatches bool
	}
	prof := func(c, issuer *x509.Certificate) profile {
		return profile{c.Subject.String(), c.Issuer.String(), c.IsCA, c.MaxPathLen, c.MaxPathLenZero, c.KeyUsage,
			c.NotBefore.Before(testNow), int(c.NotAfter.Sub(c.NotBefore).Hours() / 24 / 365),
			len(c.SubjectKeyId) > 0, string(c.AuthorityKeyId) == string(issuer.SubjectKeyId) || c == issuer}
	}
	got := []profile{prof(root, root), prof(inter, root)}
	want := []profile{
		{"CN=Example Org root,O=Example Org", "CN=Example Org root,O=Example Org", true, 1, false, x509.KeyUsageCertSign | x509.KeyUsageCRLSign, true, 10, true, true},
		{"CN=Example Org intermediate,O=Example Org", "CN=Example Org root,O=Example Org", true, 0, true, x509.KeyUsageCertSign | x509.KeyUsageCRLSign, true, 5, true, true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hierarchy profile (-want +got):\n%s", diff)
	}
}
