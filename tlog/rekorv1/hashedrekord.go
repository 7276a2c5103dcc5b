package rekorv1

import (
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/signetproject/signet/tlog"
)

// kindEntry is a validated entry of one kind: its canonical spec and the
// keys the search index files it under.
type kindEntry struct {
	spec any
	// keys are Rekor's index keys plus the hex SHA-256 of each canonical
	// verifier (the form publicKey searches look up); nil when Rekor
	// indexes nothing.
	keys []string
	// insertable is false for an entry that only a log read accepts.
	insertable bool
}

// hashedRekordV001Spec is the canonical spec of a hashedrekord 0.0.1 entry.
type hashedRekordV001Spec struct {
	Data struct {
		Hash rekorHash `json:"hash"`
	} `json:"data"`
	Signature struct {
		Content   []byte `json:"content"`
		PublicKey struct {
			Content []byte `json:"content"`
		} `json:"publicKey"`
	} `json:"signature"`
}

// hashedRekordDigest returns the digest algorithm of a hashedrekord 0.0.1
// entry, one of "sha256", "sha384" and "sha512".
func hashedRekordDigest(alg string) crypto.Hash {
	switch alg {
	case "sha384":
		return crypto.SHA384
	case "sha512":
		return crypto.SHA512
	default:
		return crypto.SHA256
	}
}

// hashedRekordV001 validates a hashedrekord 0.0.1 spec: a signature over
// an artifact digest with the key or certificate that verifies it. The
// canonical spec keeps the digest as given and re-encodes the key.
func hashedRekordV001(spec any) (*kindEntry, error) {
	m, ok := spec.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("spec is %s, not an object", jsonType(spec))
	}
	s := jsonObject(m)
	var sig, key []byte
	sigObj, hasSig := s.object("signature")
	hasKey := false
	if hasSig {
		var err error
		if sig, err = sigObj.bytes("content"); err != nil {
			return nil, fmt.Errorf("signature: %w", err)
		}
		var keyObj jsonObject
		if keyObj, hasKey = sigObj.object("publicKey"); hasKey {
			if key, err = keyObj.bytes("content"); err != nil {
				return nil, fmt.Errorf("signature.publicKey: %w", err)
			}
		}
	}
	var alg, value *string
	hasHash := false
	if data, ok := s.object("data"); ok {
		alg, value, hasHash = hashField(data, "hash")
	}
	if !hasHash {
		return nil, errors.New("data.hash is missing")
	}
	if err := checkHash("data.hash", alg, value, "sha256", "sha384", "sha512"); err != nil {
		return nil, err
	}
	if !hasSig {
		return nil, errors.New("signature is missing")
	}
	if !hasKey {
		return nil, errors.New("signature.publicKey is missing")
	}
	pub, err := parsePublicKey(key)
	if err != nil {
		return nil, fmt.Errorf("signature.publicKey: %w", err)
	}
	h := hashedRekordDigest(*alg)
	if len(*value) != 2*h.Size() {
		return nil, fmt.Errorf("data.hash.value has %d hex digits, want %d for %s", len(*value), 2*h.Size(), *alg)
	}
	digest, err := hex.DecodeString(*value)
	if err != nil {
		return nil, fmt.Errorf("data.hash.value: %w", err)
	}
	if err := pub.verifyDigest(sig, digest, h); err != nil {
		return nil, fmt.Errorf("verify signature: %v: %w", err, tlog.ErrInvalidSignature)
	}
	canonKey, err := pub.pem()
	if err != nil {
		return nil, err
	}
	out := &hashedRekordV001Spec{}
	out.Data.Hash = rekorHash{Algorithm: *alg, Value: *value}
	out.Signature.Content = sig
	out.Signature.PublicKey.Content = canonKey

	keyHash := sha256.Sum256(canonKey)
	keys := []string{hex.EncodeToString(keyHash[:])}
	keys = append(keys, pub.subjects()...)
	keys = append(keys, strings.ToLower(*alg+":"+*value))
	return &kindEntry{spec: out, keys: keys, insertable: true}, nil
}

// jsonType names the JSON type of a decoded value, for errors.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	default:
		return "a number"
	}
}
