package search

//lint:file-ignore SA1019 Rekor v2 dsse v0.0.2 entries are deprecated upstream but signet still accepts them (issue 4)

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	commonv1 "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/signetproject/signet/fulcio"
	"github.com/signetproject/signet/keys"
	"github.com/signetproject/signet/tlog"
	"github.com/signetproject/signet/tlog/rekorv1"
)

// Log names one of the server's two transparency logs.
type Log uint8

// The two logs.
const (
	// LogV1 is the Rekor v1 API's log ([rekorv1.Log]).
	LogV1 Log = 1
	// LogV2 is the Rekor v2 log ([tlog.Log]).
	LogV2 Log = 2
)

// String returns "v1" or "v2", the form URLs and the JSON API use.
func (l Log) String() string {
	switch l {
	case LogV1:
		return "v1"
	case LogV2:
		return "v2"
	}
	return fmt.Sprintf("log(%d)", uint8(l))
}

// MarshalText encodes the log as [Log.String] does.
func (l Log) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// ParseLog parses "v1" or "v2".
func ParseLog(s string) (Log, error) {
	switch s {
	case "v1":
		return LogV1, nil
	case "v2":
		return LogV2, nil
	}
	return 0, fmt.Errorf("log %q is neither v1 nor v2: %w", s, ErrInvalidQuery)
}

// ErrInvalidQuery is the parent of errors caused by a search query or an
// entry address; an HTTP adapter answers 400.
var ErrInvalidQuery = errors.New("invalid query")

// Digest is a hash named by its algorithm ("sha256", "sha384", "sha512").
type Digest struct {
	Algorithm string
	Hex       string // lowercase
}

// String returns "<algorithm>:<hex>".
func (d Digest) String() string { return d.Algorithm + ":" + d.Hex }

// Signer is the verification material of one signature in an entry: a
// certificate (Certificate and CertificateDER set) or a bare public key.
type Signer struct {
	Certificate    *x509.Certificate
	CertificateDER []byte
	PublicKey      crypto.PublicKey
	// Fingerprint is [keys.Fingerprint] of PublicKey; empty for a key it
	// cannot marshal.
	Fingerprint string
	// Fulcio is [fulcio.Summarize] of Certificate; FulcioErr says why a
	// certificate has none.
	Fulcio    *fulcio.Certificate
	FulcioErr error
	// Err says why the material could not be parsed; the other fields are
	// then empty.
	Err error
}

// keySigner is the signer of a bare public key.
func keySigner(pub crypto.PublicKey) Signer {
	s := Signer{PublicKey: pub}
	if fp, err := keys.Fingerprint(pub); err == nil {
		s.Fingerprint = fp
	}
	return s
}

// Record is an entry of either log as the index sees it: decoded from its
// leaf, which is all that the log guarantees.
type Record struct {
	Log      Log
	Index    uint64
	LeafHash [32]byte
	// Kind and APIVersion name the entry type, e.g. "hashedrekord" "0.0.2".
	Kind, APIVersion string
	// ArtifactDigest is a hashedrekord's signed digest; empty for DSSE.
	ArtifactDigest Digest
	// PayloadHash is the SHA-256 of a DSSE envelope's payload; empty for
	// hashedrekord.
	PayloadHash Digest
	// PayloadType is the DSSE payload type when the entry records it (only
	// Rekor v1 intoto entries do).
	PayloadType string
	Signers     []Signer
}

// UUID returns the entry's leaf hash in hex: the Rekor v1 entry UUID.
func (r *Record) UUID() string { return hex.EncodeToString(r.LeafHash[:]) }

// DecodeLeaf decodes the leaf at index of log.
func DecodeLeaf(log Log, index uint64, body []byte) (*Record, error) {
	var (
		r   *Record
		err error
	)
	switch log {
	case LogV2:
		r, err = decodeV2(body)
	case LogV1:
		r, err = decodeV1(body)
	default:
		err = fmt.Errorf("unknown log %d", log)
	}
	if err != nil {
		return nil, fmt.Errorf("%s entry %d: %w", log, index, err)
	}
	r.Log, r.Index = log, index
	copy(r.LeafHash[:], rfc6962.DefaultHasher.HashLeaf(body))
	return r, nil
}

// decodeV2 decodes a Rekor v2 leaf: the canonical JSON of a hashedrekord
// or dsse v0.0.2 entry.
func decodeV2(body []byte) (*Record, error) {
	e, err := tlog.ParseEntry(body)
	if err != nil {
		return nil, err
	}
	r := &Record{Kind: e.GetKind(), APIVersion: e.GetApiVersion()}
	switch s := e.GetSpec().GetSpec().(type) {
	case *rekorpb.Spec_HashedRekordV002:
		hr := s.HashedRekordV002
		r.ArtifactDigest = protoDigest(hr.GetData())
		r.Signers = []Signer{v2Signer(hr.GetSignature().GetVerifier())}
	case *rekorpb.Spec_DsseV002:
		r.PayloadHash = protoDigest(s.DsseV002.GetPayloadHash())
		for _, sig := range s.DsseV002.GetSignatures() {
			r.Signers = append(r.Signers, v2Signer(sig.GetVerifier()))
		}
	}
	return r, nil
}

func protoDigest(h *commonv1.HashOutput) Digest {
	var alg string
	switch h.GetAlgorithm() {
	case commonv1.HashAlgorithm_SHA2_256:
		alg = "sha256"
	case commonv1.HashAlgorithm_SHA2_384:
		alg = "sha384"
	case commonv1.HashAlgorithm_SHA2_512:
		alg = "sha512"
	default:
		return Digest{}
	}
	return Digest{Algorithm: alg, Hex: hex.EncodeToString(h.GetDigest())}
}

func v2Signer(v *rekorpb.Verifier) Signer {
	switch m := v.GetVerifier().(type) {
	case *rekorpb.Verifier_X509Certificate:
		return certSigner(m.X509Certificate.GetRawBytes())
	case *rekorpb.Verifier_PublicKey:
		pub, err := x509.ParsePKIXPublicKey(m.PublicKey.GetRawBytes())
		if err != nil {
			return Signer{Err: fmt.Errorf("public key: %w", err)}
		}
		return keySigner(pub)
	}
	return Signer{Err: errors.New("no verifier")}
}

func certSigner(der []byte) Signer {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return Signer{Err: fmt.Errorf("certificate: %w", err)}
	}
	s := keySigner(cert.PublicKey)
	s.Certificate, s.CertificateDER = cert, der
	s.Fulcio, s.FulcioErr = fulcio.Summarize(cert)
	return s
}

// v1Body is the part of a canonical Rekor v1 entry (hashedrekord 0.0.1,
// dsse 0.0.1, intoto 0.0.2) that search reads.
type v1Body struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Spec       struct {
		// hashedrekord
		Data struct {
			Hash v1Hash `json:"hash"`
		} `json:"data"`
		Signature struct {
			PublicKey struct {
				Content []byte `json:"content"`
			} `json:"publicKey"`
		} `json:"signature"`
		// dsse
		PayloadHash v1Hash `json:"payloadHash"`
		Signatures  []struct {
			Verifier []byte `json:"verifier"`
		} `json:"signatures"`
		// intoto
		Content struct {
			Envelope struct {
				PayloadType string `json:"payloadType"`
				Signatures  []struct {
					PublicKey []byte `json:"publicKey"`
				} `json:"signatures"`
			} `json:"envelope"`
			PayloadHash v1Hash `json:"payloadHash"`
		} `json:"content"`
	} `json:"spec"`
}

type v1Hash struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"value"`
}

func (h v1Hash) digest() Digest {
	alg := strings.ToLower(h.Algorithm)
	switch alg {
	case "sha256", "sha384", "sha512":
	default:
		return Digest{}
	}
	if _, err := hex.DecodeString(h.Value); err != nil || h.Value == "" {
		return Digest{}
	}
	return Digest{Algorithm: alg, Hex: strings.ToLower(h.Value)}
}

// decodeV1 decodes a Rekor v1 leaf (its canonical entry body).
func decodeV1(body []byte) (*Record, error) {
	var b v1Body
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, fmt.Errorf("decode Rekor v1 entry: %w", err)
	}
	r := &Record{Kind: b.Kind, APIVersion: b.APIVersion}
	switch b.Kind {
	case rekorv1.KindHashedRekord:
		r.ArtifactDigest = b.Spec.Data.Hash.digest()
		r.Signers = []Signer{pemSigner(b.Spec.Signature.PublicKey.Content)}
	case rekorv1.KindDSSE:
		r.PayloadHash = b.Spec.PayloadHash.digest()
		for _, s := range b.Spec.Signatures {
			r.Signers = append(r.Signers, pemSigner(s.Verifier))
		}
	case rekorv1.KindIntoto:
		r.PayloadHash = b.Spec.Content.PayloadHash.digest()
		r.PayloadType = b.Spec.Content.Envelope.PayloadType
		for _, s := range b.Spec.Content.Envelope.Signatures {
			// intoto 0.0.2 stores the PEM base64-encoded once more.
			pemBytes, err := base64.StdEncoding.DecodeString(string(s.PublicKey))
			if err != nil {
				pemBytes = s.PublicKey
			}
			r.Signers = append(r.Signers, pemSigner(pemBytes))
		}
	default:
		return nil, fmt.Errorf("v1 entry kind %q: %w", b.Kind, tlog.ErrUnsupportedEntry)
	}
	return r, nil
}

// pemSigner parses a PEM certificate or public key, as Rekor v1 entries
// carry them.
func pemSigner(data []byte) Signer {
	block, _ := pem.Decode(data)
	if block == nil {
		return Signer{Err: errors.New("verifier is not PEM")}
	}
	switch block.Type {
	case "CERTIFICATE":
		return certSigner(block.Bytes)
	case "PUBLIC KEY":
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return Signer{Err: fmt.Errorf("public key: %w", err)}
		}
		return keySigner(pub)
	}
	return Signer{Err: fmt.Errorf("verifier is a PEM %q block", block.Type)}
}

// sha256Hex returns the lowercase hex SHA-256 of b.
func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
