package tlog

import (
	"crypto"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"

	"golang.org/x/mod/sumdb/note"

	"github.com/signetproject/signet/trustroot"
)

// noteSigner signs checkpoints with an Ed25519 crypto.Signer, which may be
// backed by a KMS.
type noteSigner struct {
	name  string
	hash  uint32
	key   crypto.Signer
	logID []byte // [trustroot.RekorV2LogID] of the origin and key
}

func newNoteSigner(origin string, key crypto.Signer) (*noteSigner, ed25519.PublicKey, error) {
	if err := trustroot.ValidOrigin(origin); err != nil {
		return nil, nil, err
	}
	if key == nil {
		return nil, nil, fmt.Errorf("checkpoint signer is nil")
	}
	pub, ok := key.Public().(ed25519.PublicKey)
	if !ok {
		return nil, nil, fmt.Errorf("checkpoint signer has a %T, want an Ed25519 key", key.Public())
	}
	id, err := trustroot.RekorV2LogID(origin, pub)
	if err != nil {
		return nil, nil, err
	}
	return &noteSigner{name: origin, hash: binary.BigEndian.Uint32(id), key: key, logID: id}, pub, nil
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
