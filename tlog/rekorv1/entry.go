package rekorv1

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/signetproject/signet/tlog"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Rekor v1 entry kinds and the API versions a [Log] accepts.
const (
	KindHashedRekord = "hashedrekord"
	KindIntoto       = "intoto"
	KindDSSE         = "dsse"
)

// v1Versions are the accepted API versions of each Rekor v1 kind: the ones
// cosign ≤ 2.6 writes and sigstore-go verifies.
var v1Versions = map[string]string{
	KindHashedRekord: "0.0.1",
	KindIntoto:       "0.0.2",
	KindDSSE:         "0.0.1",
}

const (
	// v1TreeIDHexLen and v1UUIDHexLen are the lengths of the two parts of
	// an 80-hex-digit Rekor v1 entry ID.
	v1TreeIDHexLen = 16
	v1UUIDHexLen   = 64
)

// Entry is a validated Rekor v1 entry: the canonical body the log stores
// as a leaf and the search keys Rekor indexes it under.
type Entry struct {
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
func (e *Entry) UUID() string { return hex.EncodeToString(e.LeafHash[:]) }

// NewEntry decodes a Rekor v1 proposed entry (the JSON body of
// POST /api/v1/log/entries: {"kind","apiVersion","spec"}) of kind
// hashedrekord 0.0.1, intoto 0.0.2 or dsse 0.0.1, verifies its signatures
// with the key or certificate it carries, and canonicalizes it exactly as
// Rekor v1 does (same accepted entries, same body bytes, same index keys),
// so that UUIDs and leaf hashes match what Rekor clients recompute.
//
// Errors wrap [tlog.ErrEntryTooLarge], [tlog.ErrMalformedRequest] (undecodable JSON),
// [tlog.ErrUnsupportedEntry] (another kind or version) or, for entries Rekor's
// validation rejects (bad signature, missing fields), [tlog.ErrInvalidRequest].
func NewEntry(ctx context.Context, proposed []byte) (*Entry, error) {
	return newEntry(proposed, true)
}

// validateKind validates the spec of an entry of an accepted kind.
func validateKind(kind string, spec any) (*kindEntry, error) {
	switch kind {
	case KindHashedRekord:
		return hashedRekordV001(spec)
	case KindIntoto:
		return intotoV002(spec)
	default:
		return dsseV001(spec)
	}
}

// newEntry validates and canonicalizes a proposed entry or, with insert
// false, also an entry as the log stores it (what Rekor accepts on reads
// and searches).
func newEntry(proposed []byte, insert bool) (*Entry, error) {
	pe, err := decodeProposedEntry(proposed)
	if err != nil {
		return nil, err
	}
	k, err := validateKind(pe.kind, pe.spec)
	if err == nil && insert && !k.insertable {
		err = errors.New("the entry lacks the fields of a proposal")
	}
	if err != nil {
		if errors.Is(err, tlog.ErrInvalidRequest) {
			return nil, fmt.Errorf("%s entry: %w", pe.kind, err)
		}
		return nil, fmt.Errorf("%s entry: %v: %w", pe.kind, err, tlog.ErrInvalidRequest)
	}
	body, err := canonicalBody(pe.kind, pe.version, k.spec)
	if err != nil {
		return nil, fmt.Errorf("canonicalize %s entry: %v: %w", pe.kind, err, tlog.ErrInvalidRequest)
	}
	if len(body) > tlog.MaxEntrySize {
		return nil, fmt.Errorf("entry of %d bytes exceeds %d: %w", len(body), tlog.MaxEntrySize, tlog.ErrEntryTooLarge)
	}
	e := &Entry{Kind: pe.kind, APIVersion: pe.version, Body: body, SearchKeys: normalizeSearchKeys(k.keys)}
	copy(e.LeafHash[:], rfc6962.DefaultHasher.HashLeaf(body))
	return e, nil
}

// ParseEntry parses a canonical body read back from the log: it must be an
// accepted kind and version and canonicalize to itself. Search keys that
// only the proposed entry carries (in-toto statement subjects) are missing,
// as in Rekor's index backfill.
func ParseEntry(ctx context.Context, body []byte) (*Entry, error) {
	e, err := newEntry(body, false)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(e.Body, body) {
		return nil, fmt.Errorf("%s entry is not in canonical form: %w", e.Kind, tlog.ErrMalformedRequest)
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

// EntryID returns the 80-hex-digit Rekor v1 entry ID of uuid in the tree
// treeID: the tree ID as 16 hex digits followed by the UUID.
func EntryID(treeID int64, uuid string) string {
	return fmt.Sprintf("%016x%s", uint64(treeID), uuid)
}

// ParseEntryID splits a Rekor v1 entry UUID (64 hex digits) or entry ID (80
// hex digits: tree ID and UUID) into its leaf hash and tree ID; hasTree is
// false for a bare UUID. Errors wrap [ErrInvalidQuery].
func ParseEntryID(id string) (leafHash [32]byte, treeID int64, hasTree bool, err error) {
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

// LogEntry is a Rekor v1 LogEntry as the v1 API returns it: the JSON
// object is the LogEntryAnon value, and EntryID is the key it is listed
// under ({"<EntryID>": <LogEntry>}, see [LogEntry.Keyed]).
type LogEntry struct {
	// EntryID is the 80-hex-digit entry ID (tree ID and UUID), the response
	// map key, ETag and last path segment of the Location header.
	EntryID string `json:"-"`
	// UUID is the 64-hex-digit leaf hash.
	UUID string `json:"-"`

	Body           []byte       `json:"body"`
	IntegratedTime int64        `json:"integratedTime"`
	LogID          string       `json:"logID"`
	LogIndex       int64        `json:"logIndex"`
	Verification   Verification `json:"verification"`
}

// Keyed returns e as the one-entry map the v1 API's LogEntry schema is.
func (e *LogEntry) Keyed() map[string]*LogEntry {
	return map[string]*LogEntry{e.EntryID: e}
}

// Verification holds an entry's inclusion proof and signed entry
// timestamp.
type Verification struct {
	InclusionProof *InclusionProof `json:"inclusionProof,omitempty"`
	// SignedEntryTimestamp is the log's ECDSA signature over the RFC 8785
	// canonical JSON of {body, integratedTime, logID, logIndex}.
	SignedEntryTimestamp []byte `json:"signedEntryTimestamp"`
}

// InclusionProof is a Rekor v1 InclusionProof.
type InclusionProof struct {
	// Checkpoint is the signed checkpoint committing to RootHash.
	Checkpoint string `json:"checkpoint"`
	// Hashes are the proof's hex node hashes, leaf to root.
	Hashes   []string `json:"hashes"`
	LogIndex int64    `json:"logIndex"`
	// RootHash is the hex root hash of the tree of TreeSize leaves.
	RootHash string `json:"rootHash"`
	TreeSize int64  `json:"treeSize"`
}

// LogInfo is the body of GET /api/v1/log.
type LogInfo struct {
	RootHash       string `json:"rootHash"`
	TreeSize       int64  `json:"treeSize"`
	SignedTreeHead string `json:"signedTreeHead"`
	TreeID         string `json:"treeID"`
}

// ConsistencyProof is the body of GET /api/v1/log/proof.
type ConsistencyProof struct {
	// RootHash is the hex root hash of the larger tree.
	RootHash string `json:"rootHash"`
	// Hashes are the proof's hex node hashes.
	Hashes []string `json:"hashes"`
}

// SearchLogQuery is the body of POST /api/v1/log/entries/retrieve: up to
// [MaxSearchQueries] UUIDs or entry IDs, log indexes and proposed entries.
type SearchLogQuery struct {
	EntryUUIDs []string `json:"entryUUIDs,omitempty"`
	LogIndexes []int64  `json:"logIndexes,omitempty"`
	// Entries are proposed entries, as for POST /api/v1/log/entries.
	Entries []json.RawMessage `json:"entries,omitempty"`
}

// SearchIndexQuery is the body of POST /api/v1/index/retrieve.
type SearchIndexQuery struct {
	// Hash is an artifact digest, "<alg>:<hex>" or bare hex (SHA-256 when 64
	// digits).
	Hash string `json:"hash,omitempty"`
	// PublicKey matches entries signed by this key or certificate.
	PublicKey *SearchPublicKey `json:"publicKey,omitempty"`
	// Email matches entries whose signing certificate carries it as a SAN;
	// any other SAN (a URI, for example) matches the same way.
	Email string `json:"email,omitempty"`
	// Operator combines the criteria: "or" (the default) or "and".
	Operator string `json:"operator,omitempty"`
}

// SearchPublicKey is the publicKey criterion of a search: only the x509
// format (a PEM or DER public key or certificate) is supported.
type SearchPublicKey struct {
	Format  string `json:"format"`
	Content []byte `json:"content,omitempty"`
	URL     string `json:"url,omitempty"`
}

// MaxSearchQueries is the most UUIDs, indexes and entries one
// [SearchLogQuery] may hold, as in Rekor.
const MaxSearchQueries = 10

// ErrInvalidQuery is the parent of errors caused by the parameters of a read
// request (an entry ID, a log index, proof sizes, a search query); an HTTP
// adapter answers 400 Bad Request.
var ErrInvalidQuery = errors.New("invalid query")

// ErrTooManyQueries reports a [SearchLogQuery] with more than
// [MaxSearchQueries] items; Rekor answers 422 Unprocessable Entity.
var ErrTooManyQueries = fmt.Errorf("%w: more than %d search queries", ErrInvalidQuery, MaxSearchQueries)

// DuplicateError is returned by [Log.Create] when an entry with the same
// canonical body is already in the log. Like Rekor, an HTTP adapter answers
// 409 Conflict with Location /api/v1/log/entries/<EntryID>.
type DuplicateError struct {
	// EntryID is the existing entry's 80-hex-digit entry ID.
	EntryID string
	// UUID is the existing entry's UUID (hex leaf hash).
	UUID string
	// Index is the existing entry's log index.
	Index uint64
}

// Error implements error.
func (e *DuplicateError) Error() string {
	return fmt.Sprintf("an equivalent entry already exists in the transparency log with UUID %s", e.EntryID)
}
