package rekorv1

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// dsseV001Spec is the canonical spec of a dsse 0.0.1 entry: the envelope
// itself is not stored, only its digest, its payload's digest and its
// signatures with the canonical key of each.
type dsseV001Spec struct {
	EnvelopeHash rekorHash          `json:"envelopeHash"`
	PayloadHash  rekorHash          `json:"payloadHash"`
	Signatures   []dsseV001SpecItem `json:"signatures"`
}

type dsseV001SpecItem struct {
	Signature string `json:"signature"`
	Verifier  []byte `json:"verifier"`
}

// isPaddedBase64 reports whether s matches the schema pattern of a dsse
// 0.0.1 signature: padded standard base64 of at least one byte.
func isPaddedBase64(s string) bool {
	if s == "" || len(s)%4 != 0 {
		return false
	}
	data := strings.TrimSuffix(strings.TrimSuffix(s, "="), "=")
	for _, c := range []byte(data) {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

// dsseV001 validates a dsse 0.0.1 spec. A proposal carries
// proposedContent (the envelope as a string and the verifiers' PEM keys or
// certificates): every signature must verify with a verifier, and the
// entry records the envelope and payload digests. An entry read back from
// the log carries the recorded fields instead and is taken as it is.
func dsseV001(spec any) (*kindEntry, error) {
	m, ok := spec.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("spec is %s, not an object", jsonType(spec))
	}
	s := jsonObject(m)

	var envelope *string
	var verifiers [][]byte
	pc, hasPC := s.object("proposedContent")
	hasVerifiers := false
	if hasPC {
		envelope, _ = pc.string("envelope")
		var list []any
		if list, hasVerifiers = pc.array("verifiers"); hasVerifiers {
			for i, v := range list {
				if str, ok := v.(string); ok && str != "" {
					b, err := base64.StdEncoding.DecodeString(str)
					if err != nil {
						return nil, fmt.Errorf("proposedContent.verifiers[%d] is not base64", i)
					}
					verifiers = append(verifiers, b)
				}
			}
		}
	}
	type item struct {
		signature *string
		verifier  []byte
	}
	var sigs []item
	sigList, hasSigs := s.array("signatures")
	for i, v := range sigList {
		o, ok := v.(map[string]any)
		if !ok {
			continue
		}
		var it item
		it.signature, _ = jsonObject(o).string("signature")
		b, err := jsonObject(o).bytes("verifier")
		if err != nil {
			return nil, fmt.Errorf("signatures[%d]: %w", i, err)
		}
		it.verifier = b
		sigs = append(sigs, it)
	}
	ehAlg, ehValue, hasEH := hashField(s, "envelopeHash")
	phAlg, phValue, hasPH := hashField(s, "payloadHash")

	if hasEH {
		if err := checkHash("envelopeHash", ehAlg, ehValue, "sha256"); err != nil {
			return nil, err
		}
	}
	if hasPH {
		if err := checkHash("payloadHash", phAlg, phValue, "sha256"); err != nil {
			return nil, err
		}
	}
	if hasPC {
		if envelope == nil {
			return nil, errors.New("proposedContent.envelope is missing")
		}
		if len(verifiers) == 0 {
			return nil, errors.New("proposedContent.verifiers is empty")
		}
	}
	if hasSigs {
		if len(sigs) == 0 {
			return nil, errors.New("signatures is empty")
		}
		for i, it := range sigs {
			if it.signature == nil {
				return nil, fmt.Errorf("signatures[%d].signature is missing", i)
			}
			if !isPaddedBase64(*it.signature) {
				return nil, fmt.Errorf("signatures[%d].signature is not base64", i)
			}
			if it.verifier == nil {
				return nil, fmt.Errorf("signatures[%d].verifier is missing", i)
			}
		}
	}

	if !hasPC {
		// An entry as the log stores it.
		if !hasEH || !hasPH || len(sigs) == 0 {
			return nil, errors.New("either proposedContent or envelopeHash, payloadHash and signatures must be present")
		}
		out := &dsseV001Spec{
			EnvelopeHash: rekorHash{*ehAlg, *ehValue},
			PayloadHash:  rekorHash{*phAlg, *phValue},
		}
		for _, it := range sigs {
			out.Signatures = append(out.Signatures, dsseV001SpecItem{Signature: *it.signature, Verifier: it.verifier})
		}
		return &kindEntry{spec: out, keys: dsseKeys(out, "", nil)}, nil
	}
	if hasEH || hasPH || len(sigs) != 0 {
		return nil, errors.New("a proposal carries proposedContent only, not envelopeHash, payloadHash or signatures")
	}
	var env dsseEnvelope
	if err := json.Unmarshal([]byte(*envelope), &env); err != nil {
		return nil, fmt.Errorf("proposedContent.envelope: %w", err)
	}
	bySig, payload, err := verifyEnvelope(verifiers, &env, false)
	if err != nil {
		return nil, err
	}
	out := &dsseV001Spec{
		EnvelopeHash: sha256Hash([]byte(*envelope)),
		PayloadHash:  sha256Hash(payload),
	}
	for sig, k := range bySig {
		canon, err := k.pem()
		if err != nil {
			return nil, err
		}
		out.Signatures = append(out.Signatures, dsseV001SpecItem{Signature: sig, Verifier: canon})
	}
	sort.Slice(out.Signatures, func(i, j int) bool { return out.Signatures[i].Signature < out.Signatures[j].Signature })
	return &kindEntry{spec: out, keys: dsseKeys(out, env.PayloadType, payload), insertable: true}, nil
}

// sha256Hash returns the SHA-256 digest of b as a Rekor digest object.
func sha256Hash(b []byte) rekorHash {
	h := sha256.Sum256(b)
	return rekorHash{Algorithm: "sha256", Value: hex.EncodeToString(h[:])}
}

// dsseKeys returns the search keys of a dsse entry: each verifier's
// "sha256:<hex>" and hex key hash and identities, the payload and envelope
// digests, and, for a proposal of an in-toto statement (payloadType is ""
// for an entry read from the log), the digests of its subjects and SLSA
// materials. It is nil when a verifier does not parse.
func dsseKeys(spec *dsseV001Spec, payloadType string, payload []byte) []string {
	verifiers := make([][]byte, len(spec.Signatures))
	for i, s := range spec.Signatures {
		verifiers[i] = s.Verifier
	}
	keys, hexKeys, ok := verifierKeys(verifiers)
	if !ok {
		return nil
	}
	keys = append(keys,
		strings.ToLower(spec.PayloadHash.Algorithm+":"+spec.PayloadHash.Value),
		strings.ToLower(spec.EnvelopeHash.Algorithm+":"+spec.EnvelopeHash.Value))
	if payloadType == inTotoPayloadType {
		keys = append(keys, statementDigests(payload)...)
	}
	return append(keys, hexKeys...)
}

// statementDigests returns "<alg>:<digest>" for each subject and SLSA
// material digest of an in-toto statement, as Rekor's dsse kind finds
// them: none when the statement does not decode, no materials when its
// predicate does not.
func statementDigests(payload []byte) []string {
	type digests []struct {
		Digest map[string]string `json:"digest"`
	}
	var st struct {
		Subject   digests         `json:"subject"`
		Predicate json.RawMessage `json:"predicate"`
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil
	}
	out := appendDigests(nil, st.Subject)
	var p struct {
		Materials digests `json:"materials"`
	}
	if err := json.Unmarshal(st.Predicate, &p); err == nil {
		out = appendDigests(out, p.Materials)
	}
	return out
}

func appendDigests(out []string, ds []struct {
	Digest map[string]string `json:"digest"`
}) []string {
	for _, d := range ds {
		for alg, v := range d.Digest {
			out = append(out, alg+":"+v)
		}
	}
	return out
}
