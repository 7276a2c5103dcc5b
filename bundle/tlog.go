package bundle

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
)

// TlogEntry is a transparency log entry with its body decoded. Rekor v1
// bodies (hashedrekord 0.0.1, intoto 0.0.2, dsse 0.0.1) carry the signature
// and key they log; a Rekor v2 body (hashedrekord 0.0.2) is reconstructed by
// the verifier from the bundle instead, so only its kind is kept.
type TlogEntry struct {
	// Proto is the entry as found in the bundle. Callers must not modify it.
	Proto *protorekor.TransparencyLogEntry
	// Kind and APIVersion name the Rekor entry type, e.g. "hashedrekord", "0.0.1".
	Kind       string
	APIVersion string
	// Signature is the logged signature (Rekor v1 only).
	Signature []byte
	// PublicKey is the DER certificate or PKIX public key that was logged
	// (Rekor v1 only).
	PublicKey []byte
	// Digest and DigestAlgorithm ("sha256", ...) are the logged artifact
	// digest of a hashedrekord 0.0.1 entry.
	Digest          []byte
	DigestAlgorithm string
	// PayloadHash is the logged SHA-256 of the DSSE payload (intoto, dsse).
	PayloadHash []byte
}

// RekorV2 reports whether the entry comes from a Rekor v2 (tiles) log.
func (e *TlogEntry) RekorV2() bool { return e.Kind == "hashedrekord" && e.APIVersion == "0.0.2" }

// HasInclusionPromise reports whether the entry carries a signed entry
// timestamp.
func (e *TlogEntry) HasInclusionPromise() bool {
	return len(e.Proto.GetInclusionPromise().GetSignedEntryTimestamp()) > 0
}

// HasInclusionProof reports whether the entry carries an inclusion proof.
func (e *TlogEntry) HasInclusionProof() bool { return e.Proto.GetInclusionProof() != nil }

func parseTlogEntry(pb *protorekor.TransparencyLogEntry) (*TlogEntry, error) {
	switch {
	case pb == nil:
		return nil, errors.New("empty entry")
	case pb.GetCanonicalizedBody() == nil:
		return nil, errors.New("missing canonicalized body")
	case pb.GetLogIndex() < 0:
		return nil, errors.New("negative log index")
	case pb.GetLogId().GetKeyId() == nil:
		return nil, errors.New("missing log ID")
	case pb.GetKindVersion() == nil:
		return nil, errors.New("missing kind and version")
	}
	if p := pb.GetInclusionProof(); p != nil && p.GetCheckpoint().GetEnvelope() == "" {
		return nil, errors.New("inclusion proof without checkpoint")
	}
	e := &TlogEntry{Proto: pb}
	if err := e.parseBody(pb.GetCanonicalizedBody()); err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	if kv := pb.GetKindVersion(); kv.GetKind() != e.Kind || kv.GetVersion() != e.APIVersion {
		return nil, fmt.Errorf("kind and version %s/%s do not match body %s/%s",
			kv.GetKind(), kv.GetVersion(), e.Kind, e.APIVersion)
	}
	return e, nil
}

// rekorHash is a Rekor v1 {"algorithm","value"} pair, value in hex.
type rekorHash struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"value"`
}

type rekorBody struct {
	Kind       string          `json:"kind"`
	APIVersion string          `json:"apiVersion"`
	Spec       json.RawMessage `json:"spec"`
}

type hashedRekordV001 struct {
	Data struct {
		Hash *rekorHash `json:"hash"`
	} `json:"data"`
	Signature struct {
		Content   []byte `json:"content"`
		PublicKey struct {
			Content []byte `json:"content"`
		} `json:"publicKey"`
	} `json:"signature"`
}

type intotoV002 struct {
	Content *intotoV002Content `json:"content"`
}

type intotoV002Content struct {
	Envelope    *intotoV002Envelope `json:"envelope"`
	PayloadHash *rekorHash          `json:"payloadHash"`
}

type intotoV002Envelope struct {
	Signatures []intotoV002Signature `json:"signatures"`
}

type intotoV002Signature struct {
	Sig       []byte `json:"sig"` // base64 of the base64 signature
	PublicKey []byte `json:"publicKey"`
}

type dsseV001 struct {
	PayloadHash *rekorHash          `json:"payloadHash"`
	Signatures  []dsseV001Signature `json:"signatures"`
}

type dsseV001Signature struct {
	Signature string `json:"signature"`
	Verifier  []byte `json:"verifier"`
}

// hashedRekordV002 mirrors the protobuf-JSON of a Rekor v2 hashedrekord.
type hashedRekordV002 struct {
	HashedRekordV002 *struct {
		Data *struct {
			Algorithm string `json:"algorithm"`
			Digest    []byte `json:"digest"`
		} `json:"data"`
		Signature *struct {
			Content  []byte `json:"content"`
			Verifier *struct {
				PublicKey *struct {
					RawBytes []byte `json:"rawBytes"`
				} `json:"publicKey"`
				X509Certificate *struct {
					RawBytes []byte `json:"rawBytes"`
				} `json:"x509Certificate"`
				KeyDetails string `json:"keyDetails"`
			} `json:"verifier"`
		} `json:"signature"`
	} `json:"hashedRekordV002"`
}

func (e *TlogEntry) parseBody(body []byte) error {
	kind, version, spec, ok := decodeBodyFast(body)
	if !ok {
		var err error
		if kind, version, spec, err = decodeBody(body); err != nil {
			return err
		}
	}
	e.Kind, e.APIVersion = kind, version
	switch s := spec.(type) {
	case *hashedRekordV001:
		if s.Data.Hash == nil {
			return errors.New("hashedrekord without hash")
		}
		digest, err := decodeHash(s.Data.Hash)
		if err != nil {
			return err
		}
		e.Digest, e.DigestAlgorithm = digest, s.Data.Hash.Algorithm
		e.Signature = s.Signature.Content
		return e.setPublicKey(s.Signature.PublicKey.Content)
	case *intotoV002:
		if s.Content == nil || s.Content.Envelope == nil || len(s.Content.Envelope.Signatures) == 0 || s.Content.PayloadHash == nil {
			return errors.New("intoto entry without envelope signature or payload hash")
		}
		sig, err := base64.StdEncoding.DecodeString(string(s.Content.Envelope.Signatures[0].Sig))
		if err != nil {
			return fmt.Errorf("intoto signature: %w", err)
		}
		if e.PayloadHash, err = decodeHash(s.Content.PayloadHash); err != nil {
			return err
		}
		e.Signature = sig
		return e.setPublicKey(s.Content.Envelope.Signatures[0].PublicKey)
	case *dsseV001:
		if len(s.Signatures) == 0 || s.PayloadHash == nil {
			return errors.New("dsse entry without signature or payload hash")
		}
		sig, err := base64.StdEncoding.DecodeString(s.Signatures[0].Signature)
		if err != nil {
			return fmt.Errorf("dsse signature: %w", err)
		}
		if e.PayloadHash, err = decodeHash(s.PayloadHash); err != nil {
			return err
		}
		e.Signature = sig
		return e.setPublicKey(s.Signatures[0].Verifier)
	case *hashedRekordV002:
		hr := s.HashedRekordV002
		if hr == nil || hr.Data == nil || hr.Signature == nil || len(hr.Signature.Content) == 0 || hr.Signature.Verifier == nil {
			return errors.New("hashedrekord 0.0.2 without digest, signature or verifier")
		}
		v := hr.Signature.Verifier
		if v.KeyDetails == "" || (v.PublicKey == nil) == (v.X509Certificate == nil) {
			return errors.New("hashedrekord 0.0.2 verifier needs key details and exactly one key or certificate")
		}
		return nil
	}
	return fmt.Errorf("unsupported entry type %s/%s", kind, version)
}

// decodeBody decodes an entry body with encoding/json: its kind and
// version, and its spec for the entry types this package reads (else nil).
func decodeBody(body []byte) (kind, version string, spec any, err error) {
	var rb rekorBody
	if err := json.Unmarshal(body, &rb); err != nil {
		return "", "", nil, err
	}
	switch rb.Kind + "/" + rb.APIVersion {
	case "hashedrekord/0.0.1":
		spec = new(hashedRekordV001)
	case "intoto/0.0.2":
		spec = new(intotoV002)
	case "dsse/0.0.1":
		spec = new(dsseV001)
	case "hashedrekord/0.0.2":
		spec = new(hashedRekordV002)
	default:
		return rb.Kind, rb.APIVersion, nil, nil
	}
	if err := json.Unmarshal(rb.Spec, spec); err != nil {
		return "", "", nil, err
	}
	return rb.Kind, rb.APIVersion, spec, nil
}

// setPublicKey stores the DER inside the logged PEM block.
func (e *TlogEntry) setPublicKey(pemBytes []byte) error {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return errors.New("logged public key is not PEM")
	}
	e.PublicKey = block.Bytes
	return nil
}

func decodeHash(h *rekorHash) ([]byte, error) {
	if h.Value == "" {
		return nil, errors.New("empty hash value")
	}
	b, err := hex.DecodeString(h.Value)
	if err != nil {
		return nil, fmt.Errorf("hash value: %w", err)
	}
	return b, nil
}
