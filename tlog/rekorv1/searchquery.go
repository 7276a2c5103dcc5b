package rekorv1

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// The search criteria of POST /api/v1/index/retrieve, turned into the keys
// entries are filed under (see [Log.SearchIndex]).

// prefixSHA gives a bare hex digest of a search query the algorithm prefix
// Rekor guesses from its length (SHA-1, SHA-256, SHA-384, SHA-512); a
// digest with a prefix, or of another length, is left as it is.
func prefixSHA(digest string) string {
	if strings.Count(digest, ":") == 1 {
		return digest
	}
	switch len(digest) {
	case 40:
		return "sha1:" + digest
	case 64:
		return "sha256:" + digest
	case 96:
		return "sha384:" + digest
	case 128:
		return "sha512:" + digest
	}
	return digest
}

// publicKeySearchKey returns the search key of a key or certificate: the hex
// SHA-256 of its canonical PEM form, as Rekor indexes signers.
func publicKeySearchKey(pk *SearchPublicKey) (string, error) {
	if pk.Format != "x509" {
		return "", fmt.Errorf("public key format %q is not supported, only x509: %w", pk.Format, ErrInvalidQuery)
	}
	if pk.URL != "" {
		return "", fmt.Errorf("public key URLs are not supported: %w", ErrInvalidQuery)
	}
	if len(pk.Content) == 0 {
		return "", fmt.Errorf("public key content is empty: %w", ErrInvalidQuery)
	}
	key, err := parsePublicKey(pk.Content)
	if err != nil {
		return "", fmt.Errorf("parse public key: %v: %w", err, ErrInvalidQuery)
	}
	canon, err := key.pem()
	if err != nil {
		return "", fmt.Errorf("canonicalize public key: %v: %w", err, ErrInvalidQuery)
	}
	h := sha256.Sum256(canon)
	return hex.EncodeToString(h[:]), nil
}
