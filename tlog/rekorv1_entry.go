package tlog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-openapi/runtime"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1"         // register dsse v0.0.1
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1" // register hashedrekord v0.0.1
	_ "github.com/sigstore/rekor/pkg/types/intoto/v0.0.2"       // register intoto v0.0.2
	"github.com/transparency-dev/merkle/rfc6962"
)

// Rekor v1 entry kinds and the API versions a [V1Log] accepts.
const (
	V1KindHashedRekord = "hashedrekord"
	V1KindIntoto       = "intoto"
	V1KindDSSE         = "dsse"
)

// v1Versions are the accepted API versions of each Rekor v1 kind: the ones
// cosign ≤ 2.6 writes and sigstore-go verifies.
var v1Versions = map[string]string{
	V1KindHashedRekord: "0.0.1",
	V1KindIntoto:       "0.0.2",
	V1KindDSSE:         "0.0.1",
}

const (
	// v1TreeIDHexLen and v1UUIDHexLen are the lengths of the two parts of
	// an 80-hex-digit Rekor v1 entry ID.
	v1TreeIDHexLen = 16
	v1UUIDHexLen   = 64
)

// V1Entry is a validated Rekor v1 entry: the canonical body the log stores
// as a leaf and the search keys Rekor indexes it under.
type V1Entry struct {
	// Kind and APIVersion name the entry type, e.g. "hashedrekord" "0.0.1".
	Kind, APIVersion string
	// Body is the canonicalized entry, byte for byte what Rekor v1 stores.
	Body []byte
	// LeafHash is the RFC 6962 leaf hash of Body; its hex form is the UUID.
	LeafHash [32]byte
	// SearchKeys are the lowercased index keys, as Rekor's IndexKeys.
	SearchKeys []string
}

// UUID returns the entry UUID: the lowercase hex leaf hash.
func (e *V1Entry) UUID() string { return hex.EncodeToString(e.LeafHash[:]) }

// NewV1Entry decodes a Rekor v1 proposed entry (the JSON body of
// POST /api/v1/log/entries: {"kind","apiVersion","spec"}) of kind
// hashedrekord 0.0.1, intoto 0.0.2 or dsse 0.0.1, verifies its signatures
// with the key or certificate it carries, and canonicalizes it exactly as
// Rekor v1 does, with Rekor's own type implementations, so that UUIDs and
// leaf hashes match what Rekor clients recompute.
//
// Errors wrap [ErrEntryTooLarge], [ErrMalformedRequest] (undecodable JSON),
// [ErrUnsupportedEntry] (another kind or version) or, for entries Rekor's
// validation rejects (bad signature, missing fields), [ErrInvalidRequest].
func NewV1Entry(ctx context.Context, proposed []byte) (*V1Entry, error) {
	pe, err := decodeV1ProposedEntry(proposed)
	if err != nil {
		return nil, err
	}
	impl, err := types.CreateVersionedEntry(pe)
	if err != nil {
		return nil, fmt.Errorf("%s entry: %v: %w", pe.Kind(), err, ErrInvalidRequest)
	}
	return canonicalV1Entry(ctx, pe.Kind(), impl)
}

// decodeV1ProposedEntry decodes a proposed entry and checks its size, kind
// and version.
func decodeV1ProposedEntry(proposed []byte) (models.ProposedEntry, error) {
	if len(proposed) > MaxRequestSize {
		return nil, fmt.Errorf("request of %d bytes exceeds %d: %w", len(proposed), MaxRequestSize, ErrEntryTooLarge)
	}
	pe, err := models.UnmarshalProposedEntry(bytes.NewReader(proposed), runtime.JSONConsumer())
	if err != nil {
		// go-openapi reports an unknown kind with HTTP code 422.
		var coded interface{ Code() int32 }
		if errors.As(err, &coded) && coded.Code() == 422 {
			return nil, fmt.Errorf("decode proposed entry: %v: %w", err, ErrUnsupportedEntry)
		}
		return nil, fmt.Errorf("decode proposed entry: %v: %w", err, ErrMalformedRequest)
	}
	var version *string
	switch e := pe.(type) {
	case *models.Hashedrekord:
		version = e.APIVersion
	case *models.Intoto:
		version = e.APIVersion
	case *models.DSSE:
		version = e.APIVersion
	default:
		return nil, fmt.Errorf("entry kind %q: %w", pe.Kind(), ErrUnsupportedEntry)
	}
	if version == nil {
		return nil, fmt.Errorf("%s entry has no apiVersion: %w", pe.Kind(), ErrMalformedRequest)
	}
	if want := v1Versions[pe.Kind()]; *version != want {
		return nil, fmt.Errorf("%s entry version %q, want %q: %w", pe.Kind(), *version, want, ErrUnsupportedEntry)
	}
	return pe, nil
}

// canonicalV1Entry canonicalizes an unmarshalled entry as Rekor's
// types.CanonicalizeEntry and collects its search keys.
func canonicalV1Entry(ctx context.Context, kind string, impl types.EntryImpl) (*V1Entry, error) {
	body, err := types.CanonicalizeEntry(ctx, impl)
	if err != nil {
		return nil, fmt.Errorf("canonicalize %s entry: %v: %w", kind, err, ErrInvalidRequest)
	}
	if len(body) > MaxEntrySize {
		return nil, fmt.Errorf("entry of %d bytes exceeds %d: %w", len(body), MaxEntrySize, ErrEntryTooLarge)
	}
	e := &V1Entry{Kind: kind, APIVersion: impl.APIVersion(), Body: body}
	copy(e.LeafHash[:], rfc6962.DefaultHasher.HashLeaf(body))
	// Rekor computes index keys after canonicalization and indexes nothing
	// when that fails.
	keys, err := impl.IndexKeys()
	if err != nil {
		return e, nil
	}
	// Rekor indexes dsse and intoto signers as "sha256:<hex>" but searches
	// publicKey queries as "<hex>"; index the searchable form for every kind.
	if verifiers, err := impl.Verifiers(); err == nil {
		for _, v := range verifiers {
			if canon, err := v.CanonicalValue(); err == nil {
				h := sha256.Sum256(canon)
				keys = append(keys, hex.EncodeToString(h[:]))
			}
		}
	}
	e.SearchKeys = normalizeSearchKeys(keys)
	return e, nil
}

// ParseV1Entry parses a canonical body read back from the log: it must be an
// accepted kind and version and canonicalize to itself. Search keys that
// only the proposed entry carries (in-toto statement subjects) are missing,
// as in Rekor's index backfill.
func ParseV1Entry(ctx context.Context, body []byte) (*V1Entry, error) {
	pe, err := decodeV1ProposedEntry(body)
	if err != nil {
		return nil, err
	}
	impl, err := types.UnmarshalEntry(pe)
	if err != nil {
		return nil, fmt.Errorf("%s entry: %v: %w", pe.Kind(), err, ErrInvalidRequest)
	}
	e, err := canonicalV1Entry(ctx, pe.Kind(), impl)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(e.Body, body) {
		return nil, fmt.Errorf("%s entry is not in canonical form: %w", pe.Kind(), ErrMalformedRequest)
	}
	return e, nil
}

// normalizeSearchKeys lowercases keys, as Rekor's index storage does, and
// drops empty and repeated ones.
func normalizeSearchKeys(keys []string) []string {
	out := make([]string, 0, len(keys))
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		k = strings.ToLower(k)
		if k == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, k)
	}
	return out
}

// V1EntryID returns the 80-hex-digit Rekor v1 entry ID of uuid in the tree
// treeID: the tree ID as 16 hex digits followed by the UUID.
func V1EntryID(treeID int64, uuid string) string {
	return fmt.Sprintf("%016x%s", uint64(treeID), uuid)
}

// ParseV1EntryID splits a Rekor v1 entry UUID (64 hex digits) or entry ID (80
// hex digits: tree ID and UUID) into its leaf hash and tree ID; hasTree is
// false for a bare UUID. Errors wrap [ErrInvalidQuery].
func ParseV1EntryID(id string) (leafHash [32]byte, treeID int64, hasTree bool, err error) {
	switch len(id) {
	case v1UUIDHexLen:
	case v1TreeIDHexLen + v1UUIDHexLen:
		tid, perr := strconv.ParseUint(id[:v1TreeIDHexLen], 16, 63)
		if perr != nil {
			return leafHash, 0, false, fmt.Errorf("entry ID %q has an invalid tree ID: %w", id, ErrInvalidQuery)
		}
		treeID, hasTree = int64(tid), true
		id = id[v1TreeIDHexLen:]
	default:
		return leafHash, 0, false, fmt.Errorf("entry ID %q is neither %d nor %d hex digits: %w", id, v1UUIDHexLen, v1TreeIDHexLen+v1UUIDHexLen, ErrInvalidQuery)
	}
	leafHash, perr := parseLeafHash(id)
	if perr != nil {
		return leafHash, 0, false, fmt.Errorf("entry UUID: %v: %w", perr, ErrInvalidQuery)
	}
	return leafHash, treeID, hasTree, nil
}

// V1LogEntry is a Rekor v1 LogEntry as the v1 API returns it: the JSON
// object is the LogEntryAnon value, and EntryID is the key it is listed
// under ({"<EntryID>": <V1LogEntry>}, see [V1LogEntry.Keyed]).
type V1LogEntry struct {
	// EntryID is the 80-hex-digit entry ID (tree ID and UUID), the response
	// map key, ETag and last path segment of the Location header.
	EntryID string `json:"-"`
	// UUID is the 64-hex-digit leaf hash.
	UUID string `json:"-"`

	Body           []byte         `json:"body"`
	IntegratedTime int64          `json:"integratedTime"`
	LogID          string         `json:"logID"`
	LogIndex       int64          `json:"logIndex"`
	Verification   V1Verification `json:"verification"`
}

// Keyed returns e as the one-entry map the v1 API's LogEntry schema is.
func (e *V1LogEntry) Keyed() map[string]*V1LogEntry {
	return map[string]*V1LogEntry{e.EntryID: e}
}

// V1Verification holds an entry's inclusion proof and signed entry
// timestamp.
type V1Verification struct {
	InclusionProof *V1InclusionProof `json:"inclusionProof,omitempty"`
	// SignedEntryTimestamp is the log's ECDSA signature over the RFC 8785
	// canonical JSON of {body, integratedTime, logID, logIndex}.
	SignedEntryTimestamp []byte `json:"signedEntryTimestamp"`
}

// V1InclusionProof is a Rekor v1 InclusionProof.
type V1InclusionProof struct {
	// Checkpoint is the signed checkpoint committing to RootHash.
	Checkpoint string `json:"checkpoint"`
	// Hashes are the proof's hex node hashes, leaf to root.
	Hashes   []string `json:"hashes"`
	LogIndex int64    `json:"logIndex"`
	// RootHash is the hex root hash of the tree of TreeSize leaves.
	RootHash string `json:"rootHash"`
	TreeSize int64  `json:"treeSize"`
}

// V1LogInfo is the body of GET /api/v1/log.
type V1LogInfo struct {
	RootHash       string `json:"rootHash"`
	TreeSize       int64  `json:"treeSize"`
	SignedTreeHead string `json:"signedTreeHead"`
	TreeID         string `json:"treeID"`
}

// V1ConsistencyProof is the body of GET /api/v1/log/proof.
type V1ConsistencyProof struct {
	// RootHash is the hex root hash of the larger tree.
	RootHash string `json:"rootHash"`
	// Hashes are the proof's hex node hashes.
	Hashes []string `json:"hashes"`
}

// V1SearchLogQuery is the body of POST /api/v1/log/entries/retrieve: up to
// [MaxV1SearchQueries] UUIDs or entry IDs, log indexes and proposed entries.
type V1SearchLogQuery struct {
	EntryUUIDs []string `json:"entryUUIDs,omitempty"`
	LogIndexes []int64  `json:"logIndexes,omitempty"`
	// Entries are proposed entries, as for POST /api/v1/log/entries.
	Entries []json.RawMessage `json:"entries,omitempty"`
}

// V1SearchIndexQuery is the body of POST /api/v1/index/retrieve.
type V1SearchIndexQuery struct {
	// Hash is an artifact digest, "<alg>:<hex>" or bare hex (SHA-256 when 64
	// digits).
	Hash string `json:"hash,omitempty"`
	// PublicKey matches entries signed by this key or certificate.
	PublicKey *V1SearchPublicKey `json:"publicKey,omitempty"`
	// Email matches entries whose signing certificate carries it as a SAN;
	// any other SAN (a URI, for example) matches the same way.
	Email string `json:"email,omitempty"`
	// Operator combines the criteria: "or" (the default) or "and".
	Operator string `json:"operator,omitempty"`
}

// V1SearchPublicKey is the publicKey criterion of a search: only the x509
// format (a PEM or DER public key or certificate) is supported.
type V1SearchPublicKey struct {
	Format  string `json:"format"`
	Content []byte `json:"content,omitempty"`
	URL     string `json:"url,omitempty"`
}

// MaxV1SearchQueries is the most UUIDs, indexes and entries one
// [V1SearchLogQuery] may hold, as in Rekor.
const MaxV1SearchQueries = 10

// ErrInvalidQuery is the parent of errors caused by the parameters of a read
// request (an entry ID, a log index, proof sizes, a search query); an HTTP
// adapter answers 400 Bad Request.
var ErrInvalidQuery = errors.New("invalid query")

// ErrTooManyQueries reports a [V1SearchLogQuery] with more than
// [MaxV1SearchQueries] items; Rekor answers 422 Unprocessable Entity.
var ErrTooManyQueries = fmt.Errorf("%w: more than %d search queries", ErrInvalidQuery, MaxV1SearchQueries)

// V1DuplicateError is returned by [V1Log.Create] when an entry with the same
// canonical body is already in the log. Like Rekor, an HTTP adapter answers
// 409 Conflict with Location /api/v1/log/entries/<EntryID>.
type V1DuplicateError struct {
	// EntryID is the existing entry's 80-hex-digit entry ID.
	EntryID string
	// UUID is the existing entry's UUID (hex leaf hash).
	UUID string
	// Index is the existing entry's log index.
	Index uint64
}

// Error implements error.
func (e *V1DuplicateError) Error() string {
	return fmt.Sprintf("an equivalent entry already exists in the transparency log with UUID %s", e.EntryID)
}
