package ctlog

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	ct "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/tls"
	f_log "github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// checkpointSigner signs static-ct-api checkpoints: the note signature is
// an RFC6962NoteSignature, the millisecond timestamp followed by the
// TLS-encoded digitally-signed TreeHeadSignature of RFC 6962 §3.5.
type checkpointSigner struct {
	origin  string
	keyHash uint32
	key     crypto.Signer
	now     func() time.Time
}

// VerifierKey returns the signed-note verifier key of a CT log's
// checkpoints ("<origin>+<key hash>+<base64 0x05 || PKIX key>"), as
// transparency-dev's formats/note.NewRFC6962Verifier and witnesses take it.
func VerifierKey(origin string, pub crypto.PublicKey) (string, error) {
	return fnote.RFC6962VerifierString(origin, pub)
}

func newCheckpointSigner(origin string, key crypto.Signer) (*checkpointSigner, note.Verifier, error) {
	v, err := newCheckpointVerifier(origin, key.Public())
	if err != nil {
		return nil, nil, err
	}
	return &checkpointSigner{origin: v.Name(), keyHash: v.KeyHash(), key: key, now: time.Now}, v, nil
}

// newCheckpointVerifier returns the verifier of the checkpoints pub signs
// for origin.
func newCheckpointVerifier(origin string, pub crypto.PublicKey) (note.Verifier, error) {
	vkey, err := VerifierKey(origin, pub)
	if err != nil {
		return nil, fmt.Errorf("checkpoint verifier key for origin %q: %w", origin, err)
	}
	v, err := fnote.NewRFC6962Verifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("checkpoint verifier: %w", err)
	}
	return v, nil
}

// Name implements note.Signer.
func (s *checkpointSigner) Name() string { return s.origin }

// KeyHash implements note.Signer.
func (s *checkpointSigner) KeyHash() uint32 { return s.keyHash }

// Sign implements note.Signer: msg is the checkpoint body Tessera built.
func (s *checkpointSigner) Sign(msg []byte) ([]byte, error) {
	var cp f_log.Checkpoint
	rest, err := cp.Unmarshal(msg)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	if len(rest) != 0 || cp.Origin != s.origin {
		return nil, fmt.Errorf("sign checkpoint: origin %q or trailing data, want origin %q", cp.Origin, s.origin)
	}
	sth := ct.SignedTreeHead{
		Version:   ct.V1,
		TreeSize:  cp.Size,
		Timestamp: uint64(s.now().UnixMilli()),
	}
	copy(sth.SHA256RootHash[:], cp.Hash)
	input, err := ct.SerializeSTHSignatureInput(sth)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	ds, err := sign(s.key, input)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	enc, err := tls.Marshal(ds)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	return append(binary.BigEndian.AppendUint64(nil, sth.Timestamp), enc...), nil
}

// sign returns the RFC 6962 digitally-signed struct over input: an ECDSA
// signature over its SHA-256.
func sign(key crypto.Signer, input []byte) (ct.DigitallySigned, error) {
	h := sha256.Sum256(input)
	sig, err := key.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return ct.DigitallySigned{}, err
	}
	return ct.DigitallySigned{
		Algorithm: tls.SignatureAndHashAlgorithm{Hash: tls.SHA256, Signature: tls.ECDSA},
		Signature: sig,
	}, nil
}
