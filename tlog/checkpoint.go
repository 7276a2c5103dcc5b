package tlog

import (
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
)

// algEd25519 is the C2SP signed-note signature type of Ed25519 keys.
const algEd25519 = 1

// LogID returns the identifier of a Rekor v2 log: the full SHA-256 of the
// C2SP signed-note key name, a newline, the signature type 0x01 and the
// Ed25519 public key. Its first four bytes are the checkpoint key ID. This is
// what rekor-tiles puts in TransparencyLogEntry.logId.keyId and what
// trusted_root.json lists as tlogs[].logId.keyId for the log.
func LogID(origin string, pub ed25519.PublicKey) []byte {
	h := sha256.New()
	h.Write([]byte(origin))
	h.Write([]byte{'\n', algEd25519})
	h.Write(pub)
	return h.Sum(nil)
}

// validOrigin reports whether origin can name a signed-note key.
func validOrigin(origin string) error {
	if origin == "" || !utf8.ValidString(origin) || strings.IndexFunc(origin, unicode.IsSpace) >= 0 || strings.Contains(origin, "+") {
		return fmt.Errorf("origin %q is not a valid signed-note key name", origin)
	}
	return nil
}

// noteSigner signs checkpoints with an Ed25519 crypto.Signer, which may be
// backed by a KMS.
type noteSigner struct {
	name string
	hash uint32
	key  crypto.Signer
}

func newNoteSigner(origin string, key crypto.Signer) (*noteSigner, ed25519.PublicKey, error) {
	if err := validOrigin(origin); err != nil {
		return nil, nil, err
	}
	if key == nil {
		return nil, nil, fmt.Errorf("checkpoint signer is nil")
	}
	pub, ok := key.Public().(ed25519.PublicKey)
	if !ok {
		return nil, nil, fmt.Errorf("checkpoint signer has a %T, want an Ed25519 key", key.Public())
	}
	id := LogID(origin, pub)
	return &noteSigner{name: origin, hash: binary.BigEndian.Uint32(id), key: key}, pub, nil
}

// Name implements note.Signer.
func (s *noteSigner) Name() string { return s.name }

// KeyHash implements note.Signer.
func (s *noteSigner) KeyHash() uint32 { return s.hash }

// Sign implements note.Signer.
func (s *noteSigner) Sign(msg []byte) ([]byte, error) {
	sig, err := s.key.Sign(nil, msg, crypto.Hash(0))
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	return sig, nil
}

// newNoteVerifier returns the signed-note verifier for a log's checkpoints.
func newNoteVerifier(origin string, pub ed25519.PublicKey) (note.Verifier, string, error) {
	vkey, err := note.NewEd25519VerifierKey(origin, pub)
	if err != nil {
		return nil, "", fmt.Errorf("checkpoint verifier key: %w", err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, "", fmt.Errorf("checkpoint verifier: %w", err)
	}
	return v, vkey, nil
}
