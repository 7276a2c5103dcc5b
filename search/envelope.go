package search

//lint:file-ignore SA1019 Rekor v2 dsse v0.0.2 entries are deprecated upstream but signet still accepts them (issue 4)

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	intoto "github.com/in-toto/attestation/go/v1"
	dssepb "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/signetproject/signet/tlog"
	"github.com/signetproject/signet/tlog/rekorv1"
)

// MaxEnvelopeSize is the largest DSSE envelope the server keeps (its JSON
// form), like Rekor v1's default attestation size limit. Larger envelopes
// are logged as usual but not kept.
const MaxEnvelopeSize = 128 << 10

// EnvelopeStore keeps the DSSE envelopes of logged entries, keyed by the
// entry's leaf hash. Envelopes are the JSON of a DSSE envelope
// ({"payloadType","payload","signatures"}). Nothing in the store is
// trusted; see the package documentation. Methods must be safe for
// concurrent use.
type EnvelopeStore interface {
	// Put stores the envelope of the entry with leaf hash leaf.
	Put(ctx context.Context, leaf [32]byte, envelope []byte) error
	// Get returns the stored envelope; ok is false when there is none.
	Get(ctx context.Context, leaf [32]byte) (envelope []byte, ok bool, err error)
}

// FileEnvelopeStore is the embedded [EnvelopeStore]: one file per envelope
// under a directory, named by the leaf hash.
type FileEnvelopeStore struct{ dir string }

// NewFileEnvelopeStore returns the store kept under dir, creating it.
func NewFileEnvelopeStore(dir string) (*FileEnvelopeStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("envelope store: %w", err)
	}
	return &FileEnvelopeStore{dir: dir}, nil
}

func (s *FileEnvelopeStore) path(leaf [32]byte) string {
	h := hex.EncodeToString(leaf[:])
	return filepath.Join(s.dir, h[:2], h+".json")
}

// Put implements [EnvelopeStore]; the file is written atomically and
// synced.
func (s *FileEnvelopeStore) Put(_ context.Context, leaf [32]byte, envelope []byte) error {
	if len(envelope) > MaxEnvelopeSize {
		return fmt.Errorf("envelope of %d bytes exceeds %d", len(envelope), MaxEnvelopeSize)
	}
	p := s.path(leaf)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("store envelope: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return fmt.Errorf("store envelope: %w", err)
	}
	_, err = tmp.Write(envelope)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("store envelope: %w", err)
	}
	return nil
}

// Get implements [EnvelopeStore].
func (s *FileEnvelopeStore) Get(_ context.Context, leaf [32]byte) ([]byte, bool, error) {
	b, err := os.ReadFile(s.path(leaf))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read envelope: %w", err)
	}
	return b, true, nil
}

// envelopeJSON is the DSSE envelope's JSON form.
type envelopeJSON struct {
	PayloadType string `json:"payloadType"`
	Payload     []byte `json:"payload"`
	Signatures  []struct {
		KeyID string `json:"keyid,omitempty"`
		Sig   []byte `json:"sig"`
	} `json:"signatures"`
}

// V2Envelope returns the envelope of a Rekor v2 dsse create-entry request
// in the form an [EnvelopeStore] keeps; ok is false for other requests and
// for envelopes larger than [MaxEnvelopeSize].
func V2Envelope(req *rekorpb.CreateEntryRequest) (envelope []byte, ok bool) {
	env := req.GetDsseRequestV002().GetEnvelope()
	if env == nil {
		return nil, false
	}
	b, err := protojson.Marshal(env)
	if err != nil || len(b) > MaxEnvelopeSize {
		return nil, false
	}
	return b, true
}

// V1Envelope returns the envelope of a Rekor v1 proposed entry (the body of
// POST /api/v1/log/entries) of kind dsse 0.0.1 or intoto 0.0.2 in the form
// an [EnvelopeStore] keeps; ok is false for other entries and envelopes
// larger than [MaxEnvelopeSize]. The proposed entry must have been accepted
// by the log: this only extracts.
func V1Envelope(proposed []byte) (envelope []byte, ok bool) {
	var pe struct {
		Kind string `json:"kind"`
		Spec struct {
			ProposedContent struct {
				Envelope string `json:"envelope"`
			} `json:"proposedContent"`
			Content struct {
				Envelope struct {
					PayloadType string `json:"payloadType"`
					Payload     string `json:"payload"`
					Signatures  []struct {
						KeyID string `json:"keyid,omitempty"`
						Sig   string `json:"sig"`
					} `json:"signatures"`
				} `json:"envelope"`
			} `json:"content"`
		} `json:"spec"`
	}
	if json.Unmarshal(proposed, &pe) != nil {
		return nil, false
	}
	var out []byte
	switch pe.Kind {
	case rekorv1.KindDSSE:
		out = []byte(pe.Spec.ProposedContent.Envelope)
	case rekorv1.KindIntoto:
		// intoto 0.0.2 encodes the payload and signatures in base64 once
		// more than a DSSE envelope does.
		e := pe.Spec.Content.Envelope
		payload, err := decodeBase64Twice(e.Payload)
		if err != nil {
			return nil, false
		}
		var env envelopeJSON
		env.PayloadType, env.Payload = e.PayloadType, payload
		for _, s := range e.Signatures {
			sig, err := decodeBase64Twice(s.Sig)
			if err != nil {
				return nil, false
			}
			env.Signatures = append(env.Signatures, struct {
				KeyID string `json:"keyid,omitempty"`
				Sig   []byte `json:"sig"`
			}{s.KeyID, sig})
		}
		if out, err = json.Marshal(env); err != nil {
			return nil, false
		}
	default:
		return nil, false
	}
	if len(out) == 0 || len(out) > MaxEnvelopeSize {
		return nil, false
	}
	return out, true
}

// decodeBase64Twice undoes intoto 0.0.2's double base64 encoding: the JSON
// string is the base64 of the envelope's base64 string.
func decodeBase64Twice(s string) ([]byte, error) {
	once, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(string(once))
}

// Attestation is a DSSE envelope's content as a verified stored envelope
// shows it.
type Attestation struct {
	PayloadType string
	// Statement is set when the payload is an in-toto statement.
	Statement *intoto.Statement
	// StatementErr says why a payload of the in-toto type did not parse.
	StatementErr error
}

// SubjectDigests returns the statement's subject digests of the
// algorithms the index keeps (sha256, sha384, sha512).
func (a *Attestation) SubjectDigests() []Digest {
	if a == nil || a.Statement == nil {
		return nil
	}
	var out []Digest
	for _, s := range a.Statement.GetSubject() {
		algs := make([]string, 0, len(s.GetDigest()))
		for alg := range s.GetDigest() {
			algs = append(algs, alg)
		}
		slices.Sort(algs)
		for _, alg := range algs {
			d := v1Hash{Algorithm: alg, Value: s.GetDigest()[alg]}.digest()
			if d.Hex != "" {
				out = append(out, d)
			}
		}
	}
	return out
}

// inTotoPayloadType is the DSSE payload type of in-toto statements.
const inTotoPayloadType = "application/vnd.in-toto+json"

// verifyEnvelope checks a stored envelope against the entry r decoded from
// body and returns what it holds. The envelope must reproduce the entry: a
// v2 dsse or v1 dsse entry is made again from it (its signatures verified
// by package tlog) and must equal body byte for byte; for a v1 intoto entry,
// whose leaf records the payload type and hash, both must match.
func verifyEnvelope(ctx context.Context, r *Record, body, envelope []byte) (*Attestation, error) {
	var env envelopeJSON
	if err := json.Unmarshal(envelope, &env); err != nil {
		return nil, fmt.Errorf("stored envelope: %w", err)
	}
	switch {
	case r.Log == LogV2 && r.Kind == tlog.KindDSSE:
		if err := reproduceV2(body, envelope); err != nil {
			return nil, err
		}
	case r.Log == LogV1 && r.Kind == rekorv1.KindDSSE:
		if err := reproduceV1DSSE(ctx, body, envelope); err != nil {
			return nil, err
		}
	case r.Log == LogV1 && r.Kind == rekorv1.KindIntoto:
		if sum := sha256.Sum256(env.Payload); r.PayloadHash.Algorithm != "sha256" || hex.EncodeToString(sum[:]) != r.PayloadHash.Hex {
			return nil, errors.New("stored envelope's payload does not match the entry's payload hash")
		}
		if env.PayloadType != r.PayloadType {
			return nil, errors.New("stored envelope's payload type does not match the entry's")
		}
	default:
		return nil, fmt.Errorf("%s entries have no envelope", r.Kind)
	}
	a := &Attestation{PayloadType: env.PayloadType}
	if env.PayloadType == inTotoPayloadType {
		var st intoto.Statement
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(env.Payload, &st); err != nil {
			a.StatementErr = fmt.Errorf("in-toto statement: %w", err)
		} else {
			a.Statement = &st
		}
	}
	return a, nil
}

// reproduceV2 makes the Rekor v2 dsse entry again from the stored envelope
// and the verifiers the leaf records, and compares it with the leaf.
func reproduceV2(body, envelope []byte) error {
	var env dssepb.Envelope
	if err := protojson.Unmarshal(envelope, &env); err != nil {
		return fmt.Errorf("stored envelope: %w", err)
	}
	e, err := tlog.ParseEntry(body)
	if err != nil {
		return err
	}
	var verifiers []*rekorpb.Verifier
	for _, s := range e.GetSpec().GetDsseV002().GetSignatures() {
		verifiers = append(verifiers, s.GetVerifier())
	}
	req := &rekorpb.CreateEntryRequest{Spec: &rekorpb.CreateEntryRequest_DsseRequestV002{
		DsseRequestV002: &rekorpb.DSSERequestV002{Envelope: &env, Verifiers: verifiers},
	}}
	again, err := tlog.NewEntry(req, nil)
	if err != nil {
		return fmt.Errorf("stored envelope does not verify: %w", err)
	}
	canon, err := tlog.CanonicalBody(again)
	if err != nil {
		return err
	}
	if !bytes.Equal(canon, body) {
		return errors.New("stored envelope does not reproduce the log entry")
	}
	return nil
}

// reproduceV1DSSE makes the Rekor v1 dsse entry again from the stored
// envelope and the verifiers the leaf records, and compares it with the
// leaf.
func reproduceV1DSSE(ctx context.Context, body, envelope []byte) error {
	var b struct {
		Spec struct {
			Signatures []struct {
				Verifier []byte `json:"verifier"`
			} `json:"signatures"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return err
	}
	var verifiers [][]byte
	for _, s := range b.Spec.Signatures {
		verifiers = append(verifiers, s.Verifier)
	}
	proposed, err := json.Marshal(map[string]any{"kind": rekorv1.KindDSSE, "apiVersion": "0.0.1", "spec": map[string]any{
		"proposedContent": map[string]any{"envelope": string(envelope), "verifiers": verifiers},
	}})
	if err != nil {
		return err
	}
	again, err := rekorv1.NewEntry(ctx, proposed)
	if err != nil {
		return fmt.Errorf("stored envelope does not verify: %w", err)
	}
	if !bytes.Equal(again.Body, body) {
		return errors.New("stored envelope does not reproduce the log entry")
	}
	return nil
}
