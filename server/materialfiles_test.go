package server

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// writeSecretDir lays out material as a mounted Secret: one flat file per
// entry, named by SecretKey, plus Kubernetes' own dot entries.
func writeSecretDir(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for rel, data := range files {
		if err := os.WriteFile(filepath.Join(dir, SecretKey(rel)), data, 0o440); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "..2026_12_01_10_00_00.000"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func newServer(t *testing.T, dataDir, keysFrom string, dev bool) (*Server, error) {
	t.Helper()
	s, err := New(Options{DataDir: dataDir, KeysFrom: keysFrom, BaseURL: "http://127.0.0.1:1", InsecureDevIssuer: dev})
	if err == nil {
		t.Cleanup(func() { s.Close(context.Background()) })
	}
	return s, err
}

// Servers started from the same Secret serve the same trust root, and
// every file the first start creates is in the Secret.
func TestKeysFromSharedSecret(t *testing.T) {
	src := t.TempDir()
	if err := InitMaterial(src, true); err != nil {
		t.Fatal(err)
	}
	files, err := ReadMaterial(src)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, want := range []string{"keys/ca-root.key", "keys/tlog.key", "keys/oidc-dev.key", "ca/root.pem", "tsa/chain.pem"} {
		if _, ok := files[want]; !ok {
			t.Errorf("material lacks %s; has %v", want, names)
		}
	}
	secret := writeSecretDir(t, files)

	a, err := newServer(t, t.TempDir(), secret, true)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newServer(t, t.TempDir(), secret, true)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.trustedRoot, b.trustedRoot) {
		t.Error("two servers from one Secret serve different trust roots")
	}
	// A restart on a data dir that already holds the same material.
	dataDir := t.TempDir()
	if _, err := newServer(t, dataDir, secret, true); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dataDir, "keys", "tlog.key"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("imported private key has mode %v, want 0600", info.Mode().Perm())
	}
}

func TestKeysFromRefusals(t *testing.T) {
	src := t.TempDir()
	if err := InitMaterial(src, false); err != nil {
		t.Fatal(err)
	}
	files, err := ReadMaterial(src)
	if err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if err := InitMaterial(other, false); err != nil {
		t.Fatal(err)
	}
	otherFiles, err := ReadMaterial(other)
	if err != nil {
		t.Fatal(err)
	}
	without := func(name string) map[string][]byte {
		m := map[string][]byte{}
		for k, v := range files {
			if k != name {
				m[k] = v
			}
		}
		return m
	}
	tests := []struct {
		name    string
		secret  map[string][]byte
		dataDir string // existing material, "" for an empty data dir
		dev     bool
		wantErr string
	}{
		{"a key missing", without("keys/tlog.key"), "", false, "keys/tlog.key is not in"},
		{"dev key missing with --dev", files, "", true, "keys/oidc-dev.key is not in"},
		{"data dir holds other keys", files, other, false, "differs from the one given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dataDir := t.TempDir()
			if tt.dataDir != "" {
				if err := WriteMaterial(dataDir, otherFiles); err != nil {
					t.Fatal(err)
				}
			}
			_, err := newServer(t, dataDir, writeSecretDir(t, tt.secret), tt.dev)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestMaterialPaths(t *testing.T) {
	for _, rel := range []string{"keys/tlog.key", "ca/root.pem", "tsa/chain.pem", "trust-history.json", "keys/retired/tlog.key"} {
		if err := checkMaterialPath(rel); err != nil {
			t.Errorf("%s: %v", rel, err)
		}
		if got := SecretPath(SecretKey(rel)); got != rel {
			t.Errorf("SecretPath(SecretKey(%q)) = %q", rel, got)
		}
	}
	for _, rel := range []string{"../keys/x", "keys/../../etc/passwd", "/keys/x", "log/checkpoint", "keys", "keys//x", "rekor-v1/tree", "trust-history.json/x", "ct/checkpoint"} {
		if err := checkMaterialPath(rel); err == nil {
			t.Errorf("%q accepted", rel)
		}
		if err := WriteMaterial(t.TempDir(), map[string][]byte{rel: []byte("x")}); err == nil {
			t.Errorf("WriteMaterial accepted %q", rel)
		}
	}
	// A Secret entry that names a path outside the material is refused.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "log--checkpoint"), []byte("x"), 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadMaterialSecretDir(dir); err == nil {
		t.Error("ReadMaterialSecretDir accepted log--checkpoint")
	}
	if _, err := ReadMaterialSecretDir(t.TempDir()); err == nil {
		t.Error("ReadMaterialSecretDir accepted an empty directory")
	}
}

func TestReadWriteMaterialRoundTrip(t *testing.T) {
	src := t.TempDir()
	if err := InitMaterial(src, false); err != nil {
		t.Fatal(err)
	}
	files, err := ReadMaterial(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if err := WriteMaterial(dst, files); err != nil {
		t.Fatal(err)
	}
	back, err := ReadMaterial(dst)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(files, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// After a key rotation the Secret carries the retired keys and the
// rotation history too: a server started from it publishes the same trust
// root, retired material included, as one started on the rotated data dir.
func TestKeysFromAfterRotation(t *testing.T) {
	src := t.TempDir()
	if err := InitMaterial(src, false); err != nil {
		t.Fatal(err)
	}
	if err := RotateKeys(src, RotatableKeys, time.Now()); err != nil {
		t.Fatal(err)
	}
	files, err := ReadMaterial(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := files[historyFile]; !ok {
		t.Fatalf("material lacks the rotation history %s", historyFile)
	}
	direct, err := newServer(t, src, "", false)
	if err != nil {
		t.Fatal(err)
	}
	fromSecret, err := newServer(t, t.TempDir(), writeSecretDir(t, files), false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(direct.trustedRoot, fromSecret.trustedRoot) {
		t.Error("a server from the Secret publishes another trust root than the rotated data dir")
	}
}

// A rotation's windows are whole seconds: the retired material's window
// ends after the rotation, not at the start of its second, or what the old
// keys signed earlier in that second would not verify (TestCosignKeyRotation
// signs just before it rotates).
func TestRotationWindowsCoverTheRotationSecond(t *testing.T) {
	dir := t.TempDir()
	if err := InitMaterial(dir, false); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Second).Add(700 * time.Millisecond)
	if err := RotateKeys(dir, RotatableKeys, at); err != nil {
		t.Fatal(err)
	}
	h, err := loadHistory(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Retired) != len(RotatableKeys) {
		t.Fatalf("%d retired, want %d", len(h.Retired), len(RotatableKeys))
	}
	for _, r := range h.Retired {
		if want := at.Truncate(time.Second).Add(time.Second); !r.End.Equal(want) {
			t.Errorf("retired %s ends at %s, before the rotation at %s; want %s", r.Kind, r.End.Format(time.RFC3339Nano), at.Format(time.RFC3339Nano), want.Format(time.RFC3339))
		}
		if got, want := h.Current[r.Kind], at.Truncate(time.Second); !got.Equal(want) {
			t.Errorf("current %s starts at %s, want %s", r.Kind, got.Format(time.RFC3339Nano), want.Format(time.RFC3339))
		}
	}
}
