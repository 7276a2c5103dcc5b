package sign

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
)

// RekorV1 is a client for the Rekor v1 API (what cosign ≤ 2.6 uses). It
// logs message signatures as hashedrekord 0.0.1 and DSSE envelopes as dsse
// 0.0.1 entries.
type RekorV1 struct {
	BaseURL string
	Client  *http.Client
}

// Log records e and returns the entry with its inclusion promise and proof.
func (r *RekorV1) Log(ctx context.Context, e Entry) (*protorekor.TransparencyLogEntry, error) {
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: e.PublicKey})
	if e.Certificate != nil {
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.Certificate})
	}
	var proposed map[string]any
	if e.Envelope != nil {
		env, err := json.Marshal(map[string]any{
			"payload":     e.Envelope.GetPayload(),
			"payloadType": e.Envelope.GetPayloadType(),
			"signatures":  []map[string]any{{"sig": e.Signature}},
		})
		if err != nil {
			return nil, err
		}
		proposed = map[string]any{"kind": "dsse", "apiVersion": "0.0.1", "spec": map[string]any{
			"proposedContent": map[string]any{"envelope": string(env), "verifiers": [][]byte{keyPEM}},
		}}
	} else {
		proposed = map[string]any{"kind": "hashedrekord", "apiVersion": "0.0.1", "spec": map[string]any{
			"signature": map[string]any{"content": e.Signature, "publicKey": map[string]any{"content": keyPEM}},
			"data":      map[string]any{"hash": map[string]any{"algorithm": "sha256", "value": hex.EncodeToString(e.Digest)}},
		}}
	}
	body, err := json.Marshal(proposed)
	if err != nil {
		return nil, err
	}
	base := strings.TrimRight(r.BaseURL, "/")
	data, status, err := post(ctx, r.Client, base+"/api/v1/log/entries", "application/json", body, nil)
	if err != nil {
		return nil, fmt.Errorf("log %s: %w", r.BaseURL, err)
	}
	if status != http.StatusCreated {
		return nil, serviceError("log "+r.BaseURL, status, data)
	}
	return parseV1Response(data)
}

// v1Entry is Rekor v1's LogEntryAnon.
type v1Entry struct {
	Body           []byte `json:"body"`
	IntegratedTime int64  `json:"integratedTime"`
	LogID          string `json:"logID"`
	LogIndex       int64  `json:"logIndex"`
	Verification   struct {
		SignedEntryTimestamp []byte `json:"signedEntryTimestamp"`
		InclusionProof       *struct {
			Checkpoint string   `json:"checkpoint"`
			Hashes     []string `json:"hashes"`
			LogIndex   int64    `json:"logIndex"`
			RootHash   string   `json:"rootHash"`
			TreeSize   int64    `json:"treeSize"`
		} `json:"inclusionProof"`
	} `json:"verification"`
}

// parseV1Response turns {"<entryID>": LogEntryAnon} into a bundle's
// TransparencyLogEntry.
func parseV1Response(data []byte) (*protorekor.TransparencyLogEntry, error) {
	var m map[string]v1Entry
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("rekor v1 response: %w", err)
	}
	if len(m) != 1 {
		return nil, fmt.Errorf("rekor v1 response has %d entries, want 1", len(m))
	}
	var e v1Entry
	for _, v := range m {
		e = v
	}
	var kv struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	if err := json.Unmarshal(e.Body, &kv); err != nil || kv.Kind == "" {
		return nil, errors.New("rekor v1 response: entry body has no kind")
	}
	logID, err := hex.DecodeString(e.LogID)
	if err != nil {
		return nil, fmt.Errorf("rekor v1 response: log ID: %w", err)
	}
	tle := &protorekor.TransparencyLogEntry{
		LogIndex:          e.LogIndex,
		LogId:             &protocommon.LogId{KeyId: logID},
		KindVersion:       &protorekor.KindVersion{Kind: kv.Kind, Version: kv.APIVersion},
		IntegratedTime:    e.IntegratedTime,
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: e.Verification.SignedEntryTimestamp},
		CanonicalizedBody: e.Body,
	}
	if p := e.Verification.InclusionProof; p != nil {
		root, err := hex.DecodeString(p.RootHash)
		if err != nil {
			return nil, fmt.Errorf("rekor v1 response: root hash: %w", err)
		}
		proof := &protorekor.InclusionProof{LogIndex: p.LogIndex, RootHash: root, TreeSize: p.TreeSize,
			Checkpoint: &protorekor.Checkpoint{Envelope: p.Checkpoint}}
		for _, h := range p.Hashes {
			b, err := hex.DecodeString(h)
			if err != nil {
				return nil, fmt.Errorf("rekor v1 response: proof hash: %w", err)
			}
			proof.Hashes = append(proof.Hashes, b)
		}
		tle.InclusionProof = proof
	}
	return tle, nil
}
