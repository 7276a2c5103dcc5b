package rekorv1

import (
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/signetproject/signet/tlog"
)

// inTotoPayloadType is the DSSE payload type of in-toto statements, whose
// subjects Rekor v1 indexes.
const inTotoPayloadType = "application/vnd.in-toto+json"

// dsseEnvelope is a DSSE envelope as the dsse and intoto kinds carry it.
type dsseEnvelope struct {
	PayloadType string          `json:"payloadType"`
	Payload     string          `json:"payload"`
	Signatures  []dsseSignature `json:"signatures"`
}

type dsseSignature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// decodeDSSEBase64 decodes a DSSE payload or signature: standard base64,
// or else URL-safe base64, both padded.
func decodeDSSEBase64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.URLEncoding.DecodeString(s)
	}
	return b, err
}

// verifyEnvelope checks that every signature of env verifies with one of
// keys (PEM keys or certificates) and that every key verifies one of them,
// as Rekor v1 does: each key, in order, accepts the first signature (in
// envelope order) it verifies, and fails the entry when it verifies none.
// With allKeysNeeded false (the dsse kind), keys after the one that
// completes the set are not looked at. It returns the key of each
// signature, by signature, and the decoded payload.
func verifyEnvelope(keys [][]byte, env *dsseEnvelope, allKeysNeeded bool) (bySig map[string]*publicKey, payload []byte, err error) {
	if len(env.Signatures) == 0 {
		return nil, nil, errors.New("DSSE envelope has no signatures")
	}
	if payload, err = decodeDSSEBase64(env.Payload); err != nil {
		return nil, nil, fmt.Errorf("DSSE payload is not base64: %w", err)
	}
	sigs := make([][]byte, len(env.Signatures))
	for i, s := range env.Signatures {
		if sigs[i], err = decodeDSSEBase64(s.Sig); err != nil {
			return nil, nil, fmt.Errorf("DSSE signature %d is not base64: %w", i, err)
		}
	}
	pae := tlog.PAE(env.PayloadType, payload)

	unverified := make(map[string]bool, len(env.Signatures))
	for _, s := range env.Signatures {
		unverified[s.Sig] = true
	}
	bySig = make(map[string]*publicKey, len(env.Signatures))
	for i, raw := range keys {
		if !allKeysNeeded && len(unverified) == 0 {
			break
		}
		k, err := parsePublicKey(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("verifier %d: %w", i, err)
		}
		accepted := -1
		for j, sig := range sigs {
			if k.verifyMessage(sig, pae) == nil {
				accepted = j
				break
			}
		}
		if accepted < 0 {
			return nil, nil, fmt.Errorf("verifier %d verifies no signature of the DSSE envelope: %w", i, tlog.ErrInvalidSignature)
		}
		s := env.Signatures[accepted].Sig
		delete(unverified, s)
		bySig[s] = k
	}
	if len(unverified) > 0 {
		return nil, nil, fmt.Errorf("a DSSE signature verifies with none of the verifiers: %w", tlog.ErrInvalidSignature)
	}
	return bySig, payload, nil
}
