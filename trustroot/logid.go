package trustroot

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file is the one home of a log's identity: the IDs by which bundle
// entries and trusted_root.json name a transparency log, and the origin
// its checkpoints are signed under. tlog computes them for the logs it
// runs; verify and policy for the logs they trust.

// CheckpointOrigin returns the origin of a Rekor v2 (tlog-tiles) log's
// checkpoints, which verifiers derive from the log's base URL: its host
// name. It fails when that is not a valid signed-note key name.
func CheckpointOrigin(baseURL string) (string, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return "", fmt.Errorf("log base URL: %w", err)
	}
	origin := u.Hostname()
	if err := ValidOrigin(origin); err != nil {
		return "", err
	}
	return origin, nil
}

// ValidOrigin reports whether origin can name a signed-note key: a
// non-empty UTF-8 string without spaces or "+".
func ValidOrigin(origin string) error {
	if origin == "" || !utf8.ValidString(origin) || strings.IndexFunc(origin, unicode.IsSpace) >= 0 || strings.Contains(origin, "+") {
		return fmt.Errorf("invalid checkpoint origin %q: not a signed-note key name", origin)
	}
	return nil
}

// RekorV2LogID returns the 32-byte ID of a Rekor v2 log whose checkpoints
// pub signs under origin, as rekor-tiles puts it in entries'
// logId.keyId and trusted_root.json lists it; its first four bytes are
// the checkpoint signatures' key hash. Ed25519 keys hash as C2SP signed
// notes do (SHA-256 of origin, "\n", 0x01 and the key), ECDSA keys as
// their PKIX encoding (like Rekor v1), RSA keys as origin, "\n", 0xff,
// "PKIX-RSA-PKCS#1v1.5" and the PKIX encoding.
func RekorV2LogID(origin string, pub crypto.PublicKey) ([]byte, error) {
	keyed := func(alg, key []byte) []byte {
		h := sha256.New()
		h.Write([]byte(origin + "\n"))
		h.Write(alg)
		h.Write(key)
		return h.Sum(nil)
	}
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return keyed([]byte{1}, k), nil
	case *ecdsa.PublicKey:
		return RekorV1LogID(k)
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			return nil, fmt.Errorf("log key: %w", err)
		}
		return keyed(append([]byte{255}, "PKIX-RSA-PKCS#1v1.5"...), der), nil
	}
	return nil, fmt.Errorf("unsupported log key %T", pub)
}

// RekorV1LogID returns the ID of a Rekor v1 log (or a CT log): the
// SHA-256 of its PKIX public key. Its first four bytes are the key hash
// of the log's checkpoint signatures.
func RekorV1LogID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("log key: %w", err)
	}
	id := sha256.Sum256(der)
	return id[:], nil
}
