package verify

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/signetproject/signet/trustroot"
)

// logVerifier holds what is needed to check one trusted log's signatures,
// derived once from its key.
type logVerifier struct {
	log *trustroot.Log
	sch scheme // signatures over checkpoints
	err error  // set when the key cannot verify anything
	// pkixHash is the Rekor v1 signed-note key hash: the first four bytes
	// of SHA-256 over the PKIX public key.
	pkixHash uint32
	// note verifies Rekor v2 (tlog-tiles) checkpoints; nil with noteErr set
	// when the log has no usable base URL.
	note    note.Verifier
	origin  string
	noteErr error
}

func newLogVerifier(l *trustroot.Log) *logVerifier {
	lv := &logVerifier{log: l}
	lv.sch, lv.err = newScheme(l.PublicKey, false, false)
	if lv.err != nil {
		lv.noteErr = lv.err
		return lv
	}
	id, err := trustroot.RekorV1LogID(l.PublicKey)
	if err != nil {
		lv.err, lv.noteErr = err, err
		return lv
	}
	lv.pkixHash = binary.BigEndian.Uint32(id)
	lv.origin, lv.note, lv.noteErr = newNoteVerifier(l, lv.sch)
	return lv
}

// newNoteVerifier builds the signed-note verifier for a Rekor v2 log: its
// name is the checkpoint origin the base URL implies, its key hash the
// first four bytes of the log's ID.
func newNoteVerifier(l *trustroot.Log, sch scheme) (string, note.Verifier, error) {
	if l.BaseURL == "" {
		return "", nil, errors.New("log has no base URL, needed to verify Rekor v2 checkpoints")
	}
	name, err := trustroot.CheckpointOrigin(l.BaseURL)
	if err != nil {
		return "", nil, err
	}
	id, err := trustroot.RekorV2LogID(name, l.PublicKey)
	if err != nil {
		return "", nil, err
	}
	return name, &noteVerifier{name: name, hash: binary.BigEndian.Uint32(id), sch: sch}, nil
}

// noteVerifier implements note.Verifier for a log key.
type noteVerifier struct {
	name string
	hash uint32
	sch  scheme
}

func (n *noteVerifier) Name() string    { return n.name }
func (n *noteVerifier) KeyHash() uint32 { return n.hash }
func (n *noteVerifier) Verify(msg, sig []byte) bool {
	return n.sch.verifyMessage(msg, sig) == nil
}

// rekorV1Origin matches the origin line of Rekor v1 checkpoints,
// "<host> - <tree ID>".
var rekorV1Origin = regexp.MustCompile(`.* - [0-9]+$`)

// isRekorV1Checkpoint tells Rekor v1 checkpoints, verified with the log's
// PKIX key hash, from tlog-tiles ones, verified as signed notes by origin.
func isRekorV1Checkpoint(cp string) bool {
	lines := strings.Split(cp, "\n")
	return len(lines) >= 4 && rekorV1Origin.MatchString(lines[0])
}

// checkpoint is the body of a signed checkpoint.
type checkpoint struct {
	origin string
	size   uint64
	hash   []byte
}

// verifyRekorV1Checkpoint parses a Rekor v1 signed checkpoint and checks
// that every signature on it is by the log's key.
func (lv *logVerifier) verifyRekorV1Checkpoint(data string) (*checkpoint, error) {
	if lv.err != nil {
		return nil, lv.err
	}
	split := strings.LastIndex(data, "\n\n")
	if split < 0 {
		return nil, errors.New("malformed note: no signature block")
	}
	text, sigs := data[:split+1], data[split+2:]
	if sigs == "" || sigs[len(sigs)-1] != '\n' {
		return nil, errors.New("malformed note: signature block")
	}
	// sigs is not empty and ends in a newline, so the loop checks at least
	// one signature.
	for line := range strings.Lines(sigs) {
		line = strings.TrimSuffix(line, "\n")
		rest, ok := strings.CutPrefix(line, "\u2014 ")
		f := strings.Fields(rest)
		if !ok || len(f) != 2 {
			return nil, fmt.Errorf("malformed signature line %q", line)
		}
		raw, err := base64.StdEncoding.DecodeString(f[1])
		if err != nil || len(raw) < 5 {
			return nil, fmt.Errorf("malformed signature line %q", line)
		}
		if binary.BigEndian.Uint32(raw) != lv.pkixHash {
			return nil, errors.New("checkpoint signed by an unknown key")
		}
		if !lv.verifyV1Signature([]byte(text), raw[4:]) {
			return nil, errors.New("checkpoint signature does not verify")
		}
	}
	lines := strings.Split(text, "\n")
	if len(lines) < 4 || lines[0] == "" {
		return nil, errors.New("malformed checkpoint")
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("checkpoint size: %w", err)
	}
	hash, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil {
		return nil, fmt.Errorf("checkpoint hash: %w", err)
	}
	return &checkpoint{origin: lines[0], size: size, hash: hash}, nil
}

// verifyV1Signature checks a Rekor v1 note signature: ECDSA and RSA sign the
// SHA-256 of the note text, Ed25519 the text itself.
func (lv *logVerifier) verifyV1Signature(text, sig []byte) bool {
	switch k := lv.log.PublicKey.(type) {
	case ed25519.PublicKey:
		return ed25519.Verify(k, text, sig)
	case *ecdsa.PublicKey:
		d := sha256.Sum256(text)
		return ecdsa.VerifyASN1(k, d[:], sig)
	case *rsa.PublicKey:
		d := sha256.Sum256(text)
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], sig) == nil
	}
	return false
}

// equalRoot compares a checkpoint root with a proof root.
func (c *checkpoint) equalRoot(root []byte) bool { return bytes.Equal(c.hash, root) }
