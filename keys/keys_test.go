package keys_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signetproject/signet/keys"
)

func TestLoadOrCreate(t *testing.T) {
	for _, alg := range []keys.Algorithm{keys.ECDSAP256, keys.ECDSAP384, keys.Ed25519} {
		t.Run(string(alg), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "keys")
			path := filepath.Join(dir, "ca.pem")
			created, err := keys.LoadOrCreate(path, alg)
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			di, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]os.FileMode{0o600, 0o700}, []os.FileMode{fi.Mode().Perm(), di.Mode().Perm()}); diff != "" {
				t.Errorf("file, directory modes (-want +got):\n%s", diff)
			}
			loaded, err := keys.LoadOrCreate(path, alg)
			if err != nil {
				t.Fatalf("reload: %v", err)
			}
			if !loaded.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(created.Public()) {
				t.Error("reloaded key differs from the created one")
			}
			// The reloaded key signs for the created public key.
			data, _ := os.ReadFile(path)
			block, _ := pem.Decode(data)
			if block == nil || block.Type != "PRIVATE KEY" {
				t.Fatalf("key file is not a PKCS#8 PEM: %q", data)
			}
		})
	}
}

func writeFile(t *testing.T, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // not subject to umask
		t.Fatal(err)
	}
}

func pkcs8PEM(t *testing.T, k crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func TestLoadOrCreateRejects(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024) // only its type matters
	ecDER, _ := x509.MarshalECPrivateKey(p256)
	tests := []struct {
		name    string
		data    []byte
		perm    os.FileMode
		alg     keys.Algorithm
		wantErr string
	}{
		{"wrong algorithm", pkcs8PEM(t, p256), 0o600, keys.Ed25519, "is ecdsa-p256, want ed25519"},
		{"wrong curve", pkcs8PEM(t, p256), 0o600, keys.ECDSAP384, "want ecdsa-p384"},
		{"RSA key", pkcs8PEM(t, rsaKey), 0o600, keys.ECDSAP256, "*rsa.PublicKey"},
		{"group-readable", pkcs8PEM(t, p256), 0o640, keys.ECDSAP256, "mode 0640"},
		{"world-readable", pkcs8PEM(t, p256), 0o604, keys.ECDSAP256, "mode 0604"},
		{"garbage", []byte("not a key"), 0o600, keys.ECDSAP256, "no PKCS#8"},
		{"empty", nil, 0o600, keys.ECDSAP256, "no PKCS#8"},
		{"SEC 1 EC key", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}), 0o600, keys.ECDSAP256, "no PKCS#8"},
		{"PKCS#8 label, SEC 1 body", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}), 0o600, keys.ECDSAP256, "key "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "key.pem")
			writeFile(t, path, tt.data, tt.perm)
			k, err := keys.LoadOrCreate(path, tt.alg)
			if err == nil {
				t.Fatalf("LoadOrCreate = %T, want error", k)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not mention %q", err, tt.wantErr)
			}
			after, _ := os.ReadFile(path)
			if string(after) != string(tt.data) {
				t.Error("the existing file was replaced")
			}
		})
	}
	if _, err := keys.LoadOrCreate(filepath.Join(t.TempDir(), "k.pem"), "rsa-2048"); err == nil {
		t.Error("LoadOrCreate accepted an unknown algorithm")
	}
	if _, err := keys.Generate("dsa"); err == nil {
		t.Error("Generate accepted an unknown algorithm")
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "root.pem")
	for i, content := range []string{"first", "second, longer content"} {
		if err := keys.WriteFileAtomic(path, []byte(content), 0o644); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("write %d: read back %q, %v", i, got, err)
		}
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %04o, want 0644", fi.Mode().Perm())
	}
	listing := func(d string) []string {
		entries, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}
	if diff := cmp.Diff([]string{"root.pem"}, listing(filepath.Join(dir, "sub"))); diff != "" {
		t.Errorf("directory after writes (-want +got):\n%s", diff)
	}

	// A failed rename (the target is a non-empty directory) leaves no
	// temporary file behind.
	blocked := filepath.Join(dir, "blocked")
	if err := os.MkdirAll(filepath.Join(blocked, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := keys.WriteFileAtomic(blocked, []byte("data"), 0o600); err == nil {
		t.Fatal("WriteFileAtomic over a non-empty directory succeeded")
	}
	if diff := cmp.Diff([]string{"blocked", "sub"}, listing(dir)); diff != "" {
		t.Errorf("directory after a failed write (-want +got):\n%s", diff)
	}
}
