package trustroot

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

func TestCheckpointOrigin(t *testing.T) {
	for url, want := range map[string]string{
		"https://log.example.com":            "log.example.com",
		"http://127.0.0.1:8080/api":          "127.0.0.1",
		"https://[::1]:443":                  "::1",
		"":                                   "invalid checkpoint origin",
		"file:///log":                        "invalid checkpoint origin",
		"http://[::1":                        "log base URL",
		"https://a+b.example":                "invalid checkpoint origin",
		"https://log.example.com\xff":        "invalid checkpoint origin",
		"https://user@log.example.com:1/x?y": "log.example.com",
	} {
		got, err := CheckpointOrigin(url)
		if err != nil {
			got = err.Error()
		}
		if !strings.HasPrefix(got, want) {
			t.Errorf("CheckpointOrigin(%q) = %q, want %q", url, got, want)
		}
	}
	for _, bad := range []string{"", "a b", "a\tb", "a+b", "\xff"} {
		if ValidOrigin(bad) == nil {
			t.Errorf("ValidOrigin(%q) accepted", bad)
		}
	}
}

// TestRekorV2LogID checks the Ed25519 ID against the signed-note key hash
// of golang.org/x/mod/sumdb/note, and the ECDSA and RSA ones against
// their definitions.
func TestRekorV2LogID(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := RekorV2LogID("log.example", pub)
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := note.NewEd25519VerifierKey("log.example", pub)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	if len(id) != 32 || binary.BigEndian.Uint32(id) != v.KeyHash() {
		t.Errorf("Ed25519 log ID %x does not start with the note key hash %08x", id, v.KeyHash())
	}
	if other, _ := RekorV2LogID("other.example", pub); string(other) == string(id) {
		t.Error("the ID does not depend on the origin")
	}

	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	want := sha256.Sum256(der)
	if id, err := RekorV2LogID("log.example", &ec.PublicKey); err != nil || string(id) != string(want[:]) {
		t.Errorf("ECDSA log ID %x, %v; want the PKIX hash %x", id, err, want)
	}
	if id, err := RekorV1LogID(&ec.PublicKey); err != nil || string(id) != string(want[:]) {
		t.Errorf("Rekor v1 log ID %x, %v; want the PKIX hash %x", id, err, want)
	}

	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ = x509.MarshalPKIXPublicKey(&rk.PublicKey)
	h := sha256.New()
	h.Write([]byte("log.example\n\xffPKIX-RSA-PKCS#1v1.5"))
	h.Write(der)
	if id, err := RekorV2LogID("log.example", &rk.PublicKey); err != nil || string(id) != string(h.Sum(nil)) {
		t.Errorf("RSA log ID %x, %v", id, err)
	}

	if _, err := RekorV2LogID("log.example", "not a key"); err == nil {
		t.Error("RekorV2LogID accepted an unsupported key")
	}
	if _, err := RekorV1LogID("not a key"); err == nil {
		t.Error("RekorV1LogID accepted an unsupported key")
	}
	if _, err := RekorV2LogID("log.example", &rsa.PublicKey{}); err == nil {
		t.Error("RekorV2LogID accepted an unusable RSA key")
	}
}
