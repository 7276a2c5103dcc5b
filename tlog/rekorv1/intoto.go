package rekorv1

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// intotoV002Spec is the canonical spec of an intoto 0.0.2 entry: the
// envelope without its payload, the envelope digest as the client gave it,
// and the payload digest.
type intotoV002Spec struct {
	Content struct {
		Envelope struct {
			PayloadType string              `json:"payloadType"`
			Signatures  []intotoV002SpecSig `json:"signatures"`
		} `json:"envelope"`
		Hash        rekorHash `json:"hash"`
		PayloadHash rekorHash `json:"payloadHash"`
	} `json:"content"`
}

// intotoV002SpecSig is a signature of an intoto 0.0.2 entry: the DSSE
// signature and the PEM key or certificate, each base64-encoded once more.
type intotoV002SpecSig struct {
	KeyID     string `json:"keyid,omitempty"`
	PublicKey string `json:"publicKey"`
	Sig       string `json:"sig"`
}

// intotoV002 validates an intoto 0.0.2 spec: a DSSE envelope whose
// signatures each carry the key or certificate that verifies one. The
// envelope's payload and signatures are base64 strings, encoded once more
// in the spec. A proposal must carry the payload, which is verified and
// digested; an entry read back from the log has none and is taken as it
// is.
func intotoV002(spec any) (*kindEntry, error) {
	m, ok := spec.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("spec is %s, not an object", jsonType(spec))
	}
	s := jsonObject(m)
	var (
		payloadType  *string
		payload      []byte
		sigs         []intotoV002SpecSig
		keys, values [][]byte // publicKey and sig of each signature
		hasSigs      bool
		hAlg, hValue *string
		hasHash      bool
		pAlg, pValue *string
		hasPayHash   bool
	)
	if content, ok := s.object("content"); ok {
		if env, ok := content.object("envelope"); ok {
			payloadType, _ = env.string("payloadType")
			var err error
			if payload, err = env.bytes("payload"); err != nil {
				return nil, fmt.Errorf("content.envelope: %w", err)
			}
			var list []any
			if list, hasSigs = env.array("signatures"); hasSigs {
				for i, v := range list {
					o, ok := v.(map[string]any)
					if !ok {
						continue
					}
					sig := jsonObject(o)
					var it intotoV002SpecSig
					if id, ok := sig.string("keyid"); ok {
						it.KeyID = *id
					}
					key, err := presentBytes(sig, "publicKey")
					if err != nil {
						return nil, fmt.Errorf("content.envelope.signatures[%d]: %w", i, err)
					}
					value, err := presentBytes(sig, "sig")
					if err != nil {
						return nil, fmt.Errorf("content.envelope.signatures[%d]: %w", i, err)
					}
					if key == nil {
						return nil, fmt.Errorf("content.envelope.signatures[%d].publicKey is missing", i)
					}
					if value == nil {
						return nil, fmt.Errorf("content.envelope.signatures[%d].sig is missing", i)
					}
					it.PublicKey = base64.StdEncoding.EncodeToString(key)
					it.Sig = base64.StdEncoding.EncodeToString(value)
					sigs = append(sigs, it)
					keys, values = append(keys, key), append(values, value)
				}
			}
		}
		hAlg, hValue, hasHash = hashField(content, "hash")
		pAlg, pValue, hasPayHash = hashField(content, "payloadHash")
	}
	if payloadType == nil {
		return nil, errors.New("content.envelope.payloadType is missing")
	}
	if len(sigs) == 0 {
		return nil, errors.New("content.envelope.signatures is missing or empty")
	}
	if hasHash {
		if err := checkHash("content.hash", hAlg, hValue, "sha256"); err != nil {
			return nil, err
		}
	}
	if hasPayHash {
		if err := checkHash("content.payloadHash", pAlg, pValue, "sha256"); err != nil {
			return nil, err
		}
	}
	if !hasHash {
		return nil, errors.New("content.hash (the envelope digest) is missing")
	}

	out := &intotoV002Spec{}
	out.Content.Envelope.PayloadType = *payloadType
	out.Content.Envelope.Signatures = sigs
	out.Content.Hash = rekorHash{*hAlg, *hValue}

	if len(payload) == 0 {
		// An entry as the log stores it.
		if !hasPayHash {
			return nil, errors.New("content.payloadHash is missing")
		}
		out.Content.PayloadHash = rekorHash{*pAlg, *pValue}
		return &kindEntry{spec: out, keys: intotoKeys(out, keys, nil)}, nil
	}

	env := &dsseEnvelope{PayloadType: *payloadType, Payload: string(payload)}
	for i := range sigs {
		env.Signatures = append(env.Signatures, dsseSignature{KeyID: sigs[i].KeyID, Sig: string(values[i])})
	}
	if _, _, err := verifyEnvelope(keys, env, true); err != nil {
		return nil, err
	}
	statement, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("DSSE payload is not padded standard base64: %w", err)
	}
	out.Content.PayloadHash = sha256Hash(statement)

	// A proposal needs a payload type; the key and signature of each
	// signature are not empty, or the envelope would not have verified.
	insertable := *payloadType != ""
	var indexed []byte
	if *payloadType == inTotoPayloadType {
		indexed = statement
	}
	return &kindEntry{spec: out, keys: intotoKeys(out, keys, indexed), insertable: insertable}, nil
}

// presentBytes returns the base64-decoded string field key: nil when it is
// absent or not a string, empty (not nil) for "".
func presentBytes(o jsonObject, key string) ([]byte, error) {
	s, ok := o[key].(string)
	if !ok {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s is not base64: %w", key, err)
	}
	return b, nil // not nil, even for ""
}

// intotoKeys returns the search keys of an intoto entry: each key's
// "sha256:<hex>" and hex key hash and identities, the payload digest and,
// for an in-toto statement, its subjects' and SLSA 0.2 materials'
// digests. It is nil when a key does not parse or the statement does not
// decode, as Rekor then indexes nothing.
func intotoKeys(spec *intotoV002Spec, keys [][]byte, statement []byte) []string {
	out, hexKeys, ok := verifierKeys(keys)
	if !ok {
		return nil
	}
	ph := spec.Content.PayloadHash
	out = append(out, strings.ToLower(ph.Algorithm+":"+ph.Value))
	if statement != nil {
		var st inTotoStatement
		if err := json.Unmarshal(statement, &st); err != nil {
			return nil
		}
		for _, s := range st.Subject {
			out = appendDigestSet(out, s.Digest)
		}
		var prov slsa02Statement
		if err := json.Unmarshal(statement, &prov); err == nil {
			for _, m := range prov.Predicate.Materials {
				out = appendDigestSet(out, m.Digest)
			}
		}
	}
	return append(out, hexKeys...)
}

// verifierKeys returns the search keys of an entry's public keys or
// certificates (PEM), as Rekor's dsse and intoto kinds index them: each
// one's "sha256:<hex>" hash of its canonical PEM followed by its
// identities, and apart, the bare hex hashes, which those kinds list last.
// ok is false when one does not parse.
func verifierKeys(raws [][]byte) (keys, hexKeys []string, ok bool) {
	for _, raw := range raws {
		k, err := parsePublicKey(raw)
		if err != nil {
			return nil, nil, false
		}
		canon, err := k.pem()
		if err != nil {
			return nil, nil, false
		}
		sum := sha256.Sum256(canon)
		h := hex.EncodeToString(sum[:])
		keys = append(keys, "sha256:"+h)
		keys = append(keys, k.subjects()...)
		hexKeys = append(hexKeys, h)
	}
	return keys, hexKeys, true
}

func appendDigestSet(out []string, ds map[string]string) []string {
	for alg, d := range ds {
		out = append(out, alg+":"+d)
	}
	return out
}

// inTotoStatement is an in-toto v0.1/v1 statement with any predicate.
type inTotoStatement struct {
	Type          string `json:"_type"`
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	Predicate any `json:"predicate"`
}

// slsa02Statement is an in-toto statement with a SLSA provenance v0.2
// predicate, typed as the schema types it: its materials are indexed only
// when the whole predicate has those types.
type slsa02Statement struct {
	Type          string `json:"_type"`
	PredicateType string `json:"predicateType"`
	Subject       []struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	} `json:"subject"`
	Predicate struct {
		Builder struct {
			ID string `json:"id"`
		} `json:"builder"`
		BuildType  string `json:"buildType"`
		Invocation struct {
			ConfigSource struct {
				URI        string            `json:"uri"`
				Digest     map[string]string `json:"digest"`
				EntryPoint string            `json:"entryPoint"`
			} `json:"configSource"`
			Parameters  any `json:"parameters"`
			Environment any `json:"environment"`
		} `json:"invocation"`
		BuildConfig any `json:"buildConfig"`
		Metadata    *struct {
			BuildInvocationID string     `json:"buildInvocationID"`
			BuildStartedOn    *time.Time `json:"buildStartedOn"`
			BuildFinishedOn   *time.Time `json:"buildFinishedOn"`
			Completeness      struct {
				Parameters  bool `json:"parameters"`
				Environment bool `json:"environment"`
				Materials   bool `json:"materials"`
			} `json:"completeness"`
			Reproducible bool `json:"reproducible"`
		} `json:"metadata"`
		Materials []struct {
			URI    string            `json:"uri"`
			Digest map[string]string `json:"digest"`
		} `json:"materials"`
	} `json:"predicate"`
}
