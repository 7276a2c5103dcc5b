package keys

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
)

// Fingerprint returns a public key's fingerprint as signet shows and
// indexes it: the lowercase hex SHA-256 of its PKIX (SubjectPublicKeyInfo)
// DER encoding, the same digest `openssl pkey -pubin -outform DER | sha256sum`
// prints.
func Fingerprint(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("key fingerprint: %w", err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}
