package rekorv1

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/signetproject/signet/internal/jsonlines"
)

// EntryRecord is what a [Log] keeps about one of its leaves beyond the
// leaf bytes, which Tessera stores: the integrated time its signed entry
// timestamps carry and, once known, its log index.
type EntryRecord struct {
	// IntegratedTime is the entry's integrated time in Unix seconds. It is
	// recorded before the leaf is appended, so every leaf in the log has one.
	IntegratedTime int64
	// Index is the entry's log index; it is meaningful only when Indexed.
	Index uint64
	// Indexed reports whether the leaf is known to be in the log at Index.
	// A record that is not indexed belongs to an append in progress, or to
	// one interrupted by a crash.
	Indexed bool
}

// EntryStore keeps a [Log]'s per-leaf records, keyed by the leaf's RFC
// 6962 leaf hash (the entry UUID). It is the log's essential state next to
// the Tessera tiles: integrated times cannot be recomputed from the log. Its
// methods must be safe for concurrent use and Put must be durable when it
// returns. [NewFileEntryStore] is the embedded implementation;
// [MySQLStore] keeps it in a database that several servers share.
type EntryStore interface {
	// Get returns the record of leafHash; ok is false when there is none.
	Get(ctx context.Context, leafHash [32]byte) (rec EntryRecord, ok bool, err error)
	// Put stores rec for leafHash, replacing any earlier record. A store
	// that several servers share may keep a log index once recorded (see
	// [MySQLStore]).
	Put(ctx context.Context, leafHash [32]byte, rec EntryRecord) error
	// FollowedSize returns the number of leaves, counted from index 0, whose
	// records and search keys the log has reconciled with the tree.
	FollowedSize(ctx context.Context) (uint64, error)
	// SetFollowedSize records the number of reconciled leaves; 0 restarts
	// reconciliation from the first leaf. A store that several servers
	// share may ignore a size below the recorded one.
	SetFollowedSize(ctx context.Context, size uint64) error
}

// SearchIndex maps search keys (artifact digests "sha256:<hex>", signer
// identities, public key hashes) to entry UUIDs, for Rekor's
// /api/v1/index/retrieve. It holds derived state that [Log.Reindex]
// rebuilds from the log. Keys are given lowercased. Its methods must be safe
// for concurrent use. [NewFileSearchIndex] is the embedded implementation;
// [MySQLStore] keeps it in a database that several servers share.
type SearchIndex interface {
	// Add records that the entry uuid (64 lowercase hex) matches every key.
	// Adding a pair again is a no-op.
	Add(ctx context.Context, uuid string, keys []string) error
	// Lookup returns the UUIDs recorded for key, in any order.
	Lookup(ctx context.Context, key string) ([]string, error)
	// Reset removes every key.
	Reset(ctx context.Context) error
}

// FileEntryStore is the embedded [EntryStore]: an append-only file of
// JSON lines, replayed into memory when opened. Memory use grows with the
// log (about 100 bytes an entry); a database-backed store suits very large
// logs.
type FileEntryStore struct {
	file *jsonlines.File

	mu       sync.RWMutex
	records  map[[32]byte]EntryRecord
	followed uint64
}

// fileEntryRecord is one line of a FileEntryStore: a leaf record, or the
// followed size when Leaf is empty.
type fileEntryRecord struct {
	Leaf     string  `json:"leaf,omitempty"`
	Time     int64   `json:"time,omitempty"`
	Index    *uint64 `json:"index,omitempty"`
	Followed *uint64 `json:"followed,omitempty"`
}

// NewFileEntryStore opens the entry store kept in the file at path,
// creating it if missing. Close it when done.
func NewFileEntryStore(path string) (*FileEntryStore, error) {
	s := &FileEntryStore{records: make(map[[32]byte]EntryRecord)}
	f, _, err := jsonlines.Open(path, func(line []byte) error {
		var r fileEntryRecord
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		if r.Leaf == "" {
			if r.Followed == nil {
				return errors.New("record has neither leaf nor followed size")
			}
			s.followed = *r.Followed
			return nil
		}
		leaf, err := parseLeafHash(r.Leaf)
		if err != nil {
			return err
		}
		rec := EntryRecord{IntegratedTime: r.Time}
		if r.Index != nil {
			rec.Index, rec.Indexed = *r.Index, true
		}
		s.records[leaf] = rec
		return nil
	}, false)
	if err != nil {
		return nil, fmt.Errorf("open v1 entry store: %w", err)
	}
	s.file = f
	return s, nil
}

// Get implements [EntryStore].
func (s *FileEntryStore) Get(_ context.Context, leafHash [32]byte) (EntryRecord, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec, ok := s.records[leafHash]
	return rec, ok, nil
}

// Put implements [EntryStore].
func (s *FileEntryStore) Put(_ context.Context, leafHash [32]byte, rec EntryRecord) error {
	r := fileEntryRecord{Leaf: hex.EncodeToString(leafHash[:]), Time: rec.IntegratedTime}
	if rec.Indexed {
		r.Index = &rec.Index
	}
	// Hold the lock across the write so that the file and the map agree on
	// the order of two Puts of the same leaf.
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.file.Append(r); err != nil {
		return fmt.Errorf("store v1 entry record: %w", err)
	}
	s.records[leafHash] = rec
	return nil
}

// FollowedSize implements [EntryStore].
func (s *FileEntryStore) FollowedSize(context.Context) (uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.followed, nil
}

// SetFollowedSize implements [EntryStore].
func (s *FileEntryStore) SetFollowedSize(_ context.Context, size uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.file.Append(fileEntryRecord{Followed: &size}); err != nil {
		return fmt.Errorf("store v1 followed size: %w", err)
	}
	s.followed = size
	return nil
}

// Close closes the store's file.
func (s *FileEntryStore) Close() error { return s.file.Close() }

// FileSearchIndex is the embedded [SearchIndex]: an append-only file of
// JSON lines, replayed into memory when opened.
type FileSearchIndex struct {
	file *jsonlines.File

	mu   sync.RWMutex
	keys map[string][]string // key → UUIDs in insertion order
	seen map[[2]string]struct{}
}

type fileSearchRecord struct {
	UUID string `json:"u"`
	Key  string `json:"k"`
}

// ErrDamagedIndex is the error, wrapped, of opening a search index file
// with a complete record that cannot be read. The index is derived from the
// log: [OpenDirToReindex] opens it anyway, for [Log.Reindex] to rebuild.
var ErrDamagedIndex = errors.New("damaged search index record")

// NewFileSearchIndex opens the search index kept in the file at path,
// creating it if missing. Close it when done.
func NewFileSearchIndex(path string) (*FileSearchIndex, error) {
	x, _, err := newFileSearchIndex(path, false)
	return x, err
}

// newFileSearchIndex is NewFileSearchIndex; with skipDamaged, records that
// cannot be read are skipped and counted instead of refused.
func newFileSearchIndex(path string, skipDamaged bool) (*FileSearchIndex, int, error) {
	x := &FileSearchIndex{keys: make(map[string][]string), seen: make(map[[2]string]struct{})}
	f, skipped, err := jsonlines.Open(path, func(line []byte) error {
		var r fileSearchRecord
		if err := json.Unmarshal(line, &r); err != nil {
			return fmt.Errorf("%w: %v", ErrDamagedIndex, err)
		}
		x.insert(r.Key, r.UUID)
		return nil
	}, skipDamaged)
	if err != nil {
		return nil, 0, fmt.Errorf("open v1 search index: %w", err)
	}
	x.file = f
	return x, skipped, nil
}

// insert adds the pair to memory and reports whether it is new. x.mu must be
// held for writing (or x not yet shared).
func (x *FileSearchIndex) insert(key, uuid string) bool {
	p := [2]string{key, uuid}
	if _, ok := x.seen[p]; ok {
		return false
	}
	x.seen[p] = struct{}{}
	x.keys[key] = append(x.keys[key], uuid)
	return true
}

// Add implements [SearchIndex].
func (x *FileSearchIndex) Add(_ context.Context, uuid string, keys []string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	var fresh []any
	for _, k := range keys {
		if _, ok := x.seen[[2]string{k, uuid}]; !ok {
			fresh = append(fresh, fileSearchRecord{UUID: uuid, Key: k})
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	if err := x.file.Append(fresh...); err != nil {
		return fmt.Errorf("add v1 search keys: %w", err)
	}
	for _, r := range fresh {
		x.insert(r.(fileSearchRecord).Key, uuid)
	}
	return nil
}

// Lookup implements [SearchIndex].
func (x *FileSearchIndex) Lookup(_ context.Context, key string) ([]string, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return slices.Clone(x.keys[key]), nil
}

// Reset implements [SearchIndex].
func (x *FileSearchIndex) Reset(context.Context) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	replaced, err := x.file.Replace(func(func(any) bool) {})
	if replaced {
		x.keys = make(map[string][]string)
		x.seen = make(map[[2]string]struct{})
	}
	if err != nil {
		return fmt.Errorf("reset v1 search index: %w", err)
	}
	return nil
}

// Close closes the index's file.
func (x *FileSearchIndex) Close() error { return x.file.Close() }

// parseLeafHash decodes a 64-hex-digit leaf hash.
func parseLeafHash(s string) ([32]byte, error) {
	var h [32]byte
	if len(s) != 2*len(h) {
		return h, fmt.Errorf("leaf hash %q is not %d hex digits", s, 2*len(h))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("leaf hash %q: %w", s, err)
	}
	return h, nil
}
