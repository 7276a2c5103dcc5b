package rekorv1

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/mail"
	"strings"
)

// The search criteria of POST /api/v1/index/retrieve, turned into the keys
// entries are filed under (see [Log.SearchIndex]).

// searchDigests are the digests a search may name, with their length in
// hex: Rekor's SHA-1, SHA-256 and SHA-512, and SHA-384, which signet also
// files entries under.
var searchDigests = []struct {
	alg    string
	hexLen int
}{{"sha1", 40}, {"sha256", 64}, {"sha384", 96}, {"sha512", 128}}

// hashSearchKey returns the search key of a query's artifact digest, its
// lower-case "alg:hex" form. A bare hex digest gets the prefix Rekor
// guesses from its length. Anything else is an error naming it, not a
// search that can find nothing.
func hashSearchKey(digest string) (string, error) {
	alg, hexDigest, prefixed := strings.Cut(strings.ToLower(digest), ":")
	if !prefixed {
		alg, hexDigest = "", alg
	}
	for _, d := range searchDigests {
		if len(hexDigest) != d.hexLen || (prefixed && alg != d.alg) {
			continue
		}
		if _, err := hex.DecodeString(hexDigest); err != nil {
			return "", fmt.Errorf("hash %q is not hex: %w", digest, ErrInvalidQuery)
		}
		return d.alg + ":" + hexDigest, nil
	}
	return "", fmt.Errorf("hash %q is not a hex SHA-1, SHA-256, SHA-384 or SHA-512 digest with an optional \"sha256:\"-style prefix: %w", digest, ErrInvalidQuery)
}

// emailSearchKey returns the search key of a query's email address, which
// must be an address as Rekor's API defines it (RFC 5322).
func emailSearchKey(email string) (string, error) {
	if a, err := mail.ParseAddress(email); err != nil || a.Address == "" {
		return "", fmt.Errorf("email %q is not an email address: %w", email, ErrInvalidQuery)
	}
	return strings.ToLower(email), nil
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
