package rekorv1

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"

	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/trustroot"
)

// v1Signer makes a Rekor v1 log's signatures with its ECDSA P-256 key, as
// Rekor v1 does: ASN.1 ECDSA signatures over SHA-256 digests, for signed
// entry timestamps and checkpoints alike.
type v1Signer struct {
	key      crypto.Signer
	pub      *ecdsa.PublicKey
	der      []byte // PKIX DER public key
	logID    [32]byte
	keyHash  uint32 // first four bytes of logID, the checkpoint key hint
	hostname string
	treeID   int64
}

func newV1Signer(hostname string, treeID int64, key crypto.Signer) (*v1Signer, error) {
	if err := trustroot.ValidOrigin(hostname); err != nil {
		return nil, fmt.Errorf("hostname: %w", err)
	}
	if treeID <= 0 {
		return nil, fmt.Errorf("tree ID %d is not positive", treeID)
	}
	if key == nil {
		return nil, fmt.Errorf("v1 log signer is nil")
	}
	pub, ok := key.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		// sigstore-go verifies SETs only with ECDSA keys, and checkpoint
		// signatures over SHA-256 digests only with P-256 ones.
		return nil, fmt.Errorf("v1 log signer has a %s, want an ECDSA P-256 key", keys.Describe(key.Public()))
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal v1 log public key: %w", err)
	}
	id, err := trustroot.RekorV1LogID(pub)
	if err != nil {
		return nil, err
	}
	return &v1Signer{
		key:      key,
		pub:      pub,
		der:      der,
		logID:    [32]byte(id),
		keyHash:  binary.BigEndian.Uint32(id),
		hostname: hostname,
		treeID:   treeID,
	}, nil
}

// sign returns the ASN.1 ECDSA signature over the SHA-256 of msg.
func (s *v1Signer) sign(msg []byte) ([]byte, error) {
	d := sha256.Sum256(msg)
	sig, err := s.key.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("sign with v1 log key: %w", err)
	}
	return sig, nil
}

// verify reports whether sig is the log key's signature over msg.
func (s *v1Signer) verify(msg, sig []byte) bool {
	d := sha256.Sum256(msg)
	return ecdsa.VerifyASN1(s.pub, d[:], sig)
}

// origin returns the checkpoint origin "<hostname> - <treeID>" that Rekor v1
// clients (sigstore-go) recognise as a Rekor v1 checkpoint.
func (s *v1Signer) origin() string { return fmt.Sprintf("%s - %d", s.hostname, s.treeID) }

// signCheckpoint returns a Rekor v1 signed checkpoint for the tree of size
// and root: a signed note with origin "<hostname> - <treeID>", one signature
// line named by the hostname, and the key hint of the first four bytes of
// SHA-256 of the DER public key.
func (s *v1Signer) signCheckpoint(size uint64, root []byte) (string, error) {
	text := fmt.Sprintf("%s\n%d\n%s\n", s.origin(), size, base64.StdEncoding.EncodeToString(root))
	sig, err := s.sign([]byte(text))
	if err != nil {
		return "", fmt.Errorf("sign checkpoint: %w", err)
	}
	hinted := binary.BigEndian.AppendUint32(nil, s.keyHash)
	hinted = append(hinted, sig...)
	return fmt.Sprintf("%s\n\u2014 %s %s\n", text, s.hostname, base64.StdEncoding.EncodeToString(hinted)), nil
}

// setPayload is what a signed entry timestamp signs, in RFC 8785 canonical
// form: the fields of Rekor's LogEntryAnon other than verification.
type setPayload struct {
	Body           string `json:"body"`
	IntegratedTime int64  `json:"integratedTime"`
	LogID          string `json:"logID"` //nolint:tagliatelle // Rekor's field name
	LogIndex       int64  `json:"logIndex"`
}

// signSET returns the signed entry timestamp of the entry body at logIndex.
func (s *v1Signer) signSET(body []byte, integratedTime, logIndex int64) ([]byte, error) {
	msg, err := s.setMessage(body, integratedTime, logIndex)
	if err != nil {
		return nil, err
	}
	sig, err := s.sign(msg)
	if err != nil {
		return nil, fmt.Errorf("sign entry timestamp: %w", err)
	}
	return sig, nil
}

func (s *v1Signer) setMessage(body []byte, integratedTime, logIndex int64) ([]byte, error) {
	js, err := json.Marshal(setPayload{
		Body:           base64.StdEncoding.EncodeToString(body),
		IntegratedTime: integratedTime,
		LogID:          hex.EncodeToString(s.logID[:]),
		LogIndex:       logIndex,
	})
	if err != nil {
		return nil, fmt.Errorf("encode entry timestamp: %w", err)
	}
	msg, err := jsoncanonicalizer.Transform(js)
	if err != nil {
		return nil, fmt.Errorf("canonicalize entry timestamp: %w", err)
	}
	return msg, nil
}

// treeNoteSigner signs the checkpoints of the Tessera tree behind a Rekor v1
// log. They are internal: clients get checkpoints made by signCheckpoint.
// The note name is the internal origin "<hostname>/rekor-v1/<treeID>",
// distinct from the Rekor v2 log's origin.
type treeNoteSigner struct{ s *v1Signer }

func (n treeNoteSigner) Name() string {
	return fmt.Sprintf("%s/rekor-v1/%d", n.s.hostname, n.s.treeID)
}
func (n treeNoteSigner) KeyHash() uint32                 { return n.s.keyHash }
func (n treeNoteSigner) Sign(msg []byte) ([]byte, error) { return n.s.sign(msg) }

// treeNoteVerifier verifies checkpoints made by treeNoteSigner.
type treeNoteVerifier struct{ s *v1Signer }

func (n treeNoteVerifier) Name() string                { return treeNoteSigner(n).Name() }
func (n treeNoteVerifier) KeyHash() uint32             { return n.s.keyHash }
func (n treeNoteVerifier) Verify(msg, sig []byte) bool { return n.s.verify(msg, sig) }
