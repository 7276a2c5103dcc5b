package rekorv1

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signetproject/signet/tlog"
	"github.com/signetproject/signet/tlog/internal/guard"
	"github.com/signetproject/signet/tlog/internal/tiles"
	"github.com/signetproject/signet/tlog/storage"
	commonv1 "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	trustrootv1 "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	f_log "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// v1FollowInterval is how often a Log reconciles its entry store and
// search index with the tree in the background.
const v1FollowInterval = time.Second

// Stores are the stores a [Log] keeps next to its Tessera tree.
type Stores struct {
	// Entries holds integrated times and the UUID → index mapping.
	Entries EntryStore
	// Search is the search index; [Log.Reindex] rebuilds it.
	Search SearchIndex
}

// Log is a Rekor v1 compatible transparency log. Its methods are safe for
// concurrent use.
type Log struct {
	signer  *v1Signer
	entries EntryStore
	search  SearchIndex
	owned   []io.Closer // stores opened by OpenDir

	add      tessera.AddFn
	reader   tessera.LogReader
	awaiter  *guard.Awaiter
	prover   *tiles.Prover
	guard    *guard.Guard
	health   *guard.Probe
	lastCP   atomic.Pointer[parsedCheckpoint]
	verifier treeNoteVerifier
	shutdown func(context.Context) error
	cancel   context.CancelFunc

	leafLocks  keyedMutex
	followMu   sync.Mutex
	followErr  atomic.Pointer[error]
	stopFollow context.CancelFunc
	followWG   sync.WaitGroup

	cpMu     sync.Mutex
	cpSize   uint64
	cpRoot   []byte
	cpSigned string

	now func() time.Time

	closeOnce sync.Once
	closeErr  error
}

// New opens the Rekor v1 log kept by driver and stores. hostname and
// treeID make the checkpoint origin "<hostname> - <treeID>" and the entry ID
// prefix; treeID must be positive and stay the same for the life of the
// log. key must be an ECDSA P-256 key: it signs signed entry timestamps and
// checkpoints, and its DER public key's SHA-256 is the log ID. Only the
// Tessera tuning fields of opts are used (not Algorithms: v1 entries accept
// what Rekor v1 accepts).
//
// Opening reconciles stores with the tree (entries appended just before a
// crash); after that, the log reconciles in the background every second
// until Close.
func New(ctx context.Context, driver tessera.Driver, stores Stores, hostname string, treeID int64, key crypto.Signer, opts tlog.Options) (*Log, error) {
	if len(opts.RetiredKeys) > 0 {
		return nil, errors.New("open Rekor v1 log: its key is not rotated, but RetiredKeys is set")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if stores.Entries == nil || stores.Search == nil {
		return nil, errors.New("open v1 log: entry store and search index are required")
	}
	s, err := newV1Signer(hostname, treeID, key)
	if err != nil {
		return nil, fmt.Errorf("open v1 log: %w", err)
	}
	bg, cancel := context.WithCancel(ctx)
	g, appender, shutdown, reader, prover, err := guard.Open(bg, driver, treeNoteSigner{s}, []note.Verifier{treeNoteVerifier{s}}, treeNoteSigner{s}.Name(), opts.AppendOptions(), tiles.EntryBundleLeaves)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("open v1 log: %w", err)
	}
	l := &Log{
		signer:   s,
		entries:  stores.Entries,
		search:   stores.Search,
		add:      appender.Add,
		reader:   reader,
		awaiter:  guard.NewAwaiter(bg, reader.ReadCheckpoint, opts.PollInterval),
		prover:   prover,
		guard:    g,
		verifier: treeNoteVerifier{s},
		shutdown: shutdown,
		cancel:   cancel,
		now:      time.Now,
	}
	l.health = guard.NewProbe(g, reader, l.parseCheckpoint, opts.CheckpointInterval)
	g.SetOnFail(func(err error) {
		// As Log.stopOnIntegrityFailure.
		l.awaiter.Halt(err)
		l.cancel()
	})
	if err := l.Follow(ctx); err != nil {
		_ = shutdown(ctx)
		cancel()
		return nil, fmt.Errorf("open v1 log: %w", err)
	}
	fctx, stop := context.WithCancel(bg)
	l.stopFollow = stop
	l.followWG.Go(func() { l.followLoop(fctx) })
	return l, nil
}

// OpenDir opens (creating if needed) a Rekor v1 log kept entirely under
// dir: Tessera POSIX tiles in dir/tiles, the entry store and search index in
// dir/entries.jsonl and dir/search.jsonl, and the tree ID in dir/tree-id,
// chosen at random on first use. See [New] for the other arguments.
func OpenDir(ctx context.Context, dir, hostname string, key crypto.Signer, opts tlog.Options) (*Log, error) {
	l, _, err := openDir(ctx, dir, hostname, key, opts, false)
	return l, err
}

// OpenDirToReindex is [OpenDir] for [Log.Reindex], which rebuilds the search
// index: the index's records that cannot be read ([ErrDamagedIndex]) are
// skipped, and counted, instead of refused. They stay in the file until
// Reindex rewrites it.
func OpenDirToReindex(ctx context.Context, dir, hostname string, key crypto.Signer, opts tlog.Options) (l *Log, skipped int, err error) {
	return openDir(ctx, dir, hostname, key, opts, true)
}

func openDir(ctx context.Context, dir, hostname string, key crypto.Signer, opts tlog.Options, skipDamaged bool) (*Log, int, error) {
	if dir == "" {
		return nil, 0, errors.New("v1 log directory is empty")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, 0, fmt.Errorf("create v1 log directory: %w", err)
	}
	treeID, err := loadOrCreateTreeID(filepath.Join(dir, "tree-id"))
	if err != nil {
		return nil, 0, err
	}
	driver, err := storage.NewPOSIX(ctx, filepath.Join(dir, "tiles"))
	if err != nil {
		return nil, 0, err
	}
	entries, err := NewFileEntryStore(filepath.Join(dir, "entries.jsonl"))
	if err != nil {
		return nil, 0, err
	}
	search, skipped, err := newFileSearchIndex(filepath.Join(dir, "search.jsonl"), skipDamaged)
	if err != nil {
		entries.Close()
		return nil, 0, err
	}
	l, err := New(ctx, driver, Stores{Entries: entries, Search: search}, hostname, treeID, key, opts)
	if err != nil {
		entries.Close()
		search.Close()
		return nil, 0, err
	}
	l.owned = []io.Closer{entries, search}
	return l, skipped, nil
}

// loadOrCreateTreeID reads the decimal tree ID in path, or writes a random
// positive one there if the file does not exist.
func loadOrCreateTreeID(path string) (int64, error) {
	raw, err := os.ReadFile(path)
	if err == nil {
		id, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
		if err != nil || id <= 0 {
			return 0, fmt.Errorf("tree ID file %s holds %q, want a positive integer", path, raw)
		}
		return id, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("read tree ID: %w", err)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, fmt.Errorf("generate tree ID: %w", err)
	}
	id := int64(binary.BigEndian.Uint64(b[:])>>1) | 1 // positive, like Trillian's
	if err := writeFileDurably(path, []byte(strconv.FormatInt(id, 10)+"\n"), 0o644); err != nil {
		return 0, fmt.Errorf("write tree ID: %w", err)
	}
	return id, nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}

// Close stops background reconciliation, waits until every acknowledged
// entry is committed to by a checkpoint (bounded by ctx), stops the log's
// background work and closes the stores OpenDir opened.
func (l *Log) Close(ctx context.Context) error {
	l.closeOnce.Do(func() {
		l.stopFollow()
		l.followWG.Wait()
		var errs []error
		if err := l.guard.Failure(); err != nil {
			// No checkpoint will come: do not wait for one.
			ctx = expired(ctx)
			errs = append(errs, fmt.Errorf("entries not yet in a checkpoint are abandoned: %w", err))
		} else if err := l.shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		l.cancel()
		l.awaiter.Wait()
		for _, c := range l.owned {
			if err := c.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			l.closeErr = fmt.Errorf("close v1 log: %w", err)
		}
	})
	return l.closeErr
}

// TreeID returns the log's tree ID.
func (l *Log) TreeID() int64 { return l.signer.treeID }

// Hostname returns the hostname in the log's checkpoint origin.
func (l *Log) Hostname() string { return l.signer.hostname }

// CheckpointOrigin returns the origin line of the log's checkpoints,
// "<hostname> - <treeID>".
func (l *Log) CheckpointOrigin() string { return l.signer.origin() }

// LogID returns the log's 32-byte ID ([trustroot.RekorV1LogID] of its
// key), as trusted_root.json and bundle entries carry it; the v1 API's
// JSON has it in hex.
func (l *Log) LogID() []byte { return bytes.Clone(l.signer.logID[:]) }

// PublicKey returns the ECDSA key that verifies signed entry timestamps and
// checkpoints.
func (l *Log) PublicKey() crypto.PublicKey { return l.signer.pub }

// PublicKeyPEM returns the log's public key as a PEM "PUBLIC KEY" block, the
// body of GET /api/v1/log/publicKey.
func (l *Log) PublicKeyPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: l.signer.der})
}

// CheckTreeID checks the optional treeID query parameter of Rekor's read
// endpoints: empty or the log's tree ID in decimal. Errors wrap
// [ErrInvalidQuery].
func (l *Log) CheckTreeID(treeID string) error {
	if treeID == "" {
		return nil
	}
	id, err := strconv.ParseInt(treeID, 10, 64)
	if err != nil || id != l.signer.treeID {
		return fmt.Errorf("unknown tree ID %q: %w", treeID, ErrInvalidQuery)
	}
	return nil
}

// TransparencyLogInstance describes the log for trusted_root.json tlogs[]:
// baseUrl, SHA-256 tree hashing, the PKIX ECDSA P-256 key valid from
// validFrom, and the log ID (the SHA-256 of the DER key).
func (l *Log) TransparencyLogInstance(baseURL string, validFrom time.Time) (*trustrootv1.TransparencyLogInstance, error) {
	if _, err := url.Parse(baseURL); err != nil {
		return nil, fmt.Errorf("v1 log base URL: %w", err)
	}
	return &trustrootv1.TransparencyLogInstance{
		BaseUrl:       baseURL,
		HashAlgorithm: commonv1.HashAlgorithm_SHA2_256,
		PublicKey: &commonv1.PublicKey{
			RawBytes:   bytes.Clone(l.signer.der),
			KeyDetails: commonv1.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
			ValidFor:   &commonv1.TimeRange{Start: timestamppb.New(validFrom)},
		},
		LogId: &commonv1.LogId{KeyId: bytes.Clone(l.signer.logID[:])},
	}, nil
}

// Create validates the proposed entry (the body of POST /api/v1/log/entries,
// see [NewEntry]), appends its canonical body unless an identical one is
// in the log, waits until a checkpoint commits to it and returns it with its
// integrated time, signed entry timestamp and inclusion proof, as Rekor v1
// does. The entry is durably stored once Create returns it.
//
// Errors: [tlog.ErrInvalidRequest] and its children (400), a [*DuplicateError]
// (409), a wrapped tessera.ErrPushback when the log is overloaded (503), and
// ctx's error when ctx ends first (the entry may still be appended).
func (l *Log) Create(ctx context.Context, proposed []byte) (*LogEntry, error) {
	e, err := NewEntry(ctx, proposed)
	if err != nil {
		return nil, err
	}
	return l.appendEntry(ctx, e)
}

// appendEntry appends an entry made by NewEntry; see Create.
func (l *Log) appendEntry(ctx context.Context, e *Entry) (*LogEntry, error) {
	if err := l.guard.Failure(); err != nil {
		return nil, fmt.Errorf("append v1 entry: %w", err)
	}
	unlock := l.leafLocks.lock(e.LeafHash)
	defer unlock()
	rec, ok, err := l.entries.Get(ctx, e.LeafHash)
	if err != nil {
		return nil, fmt.Errorf("append v1 entry: %w", err)
	}
	if ok && rec.Indexed {
		return nil, l.duplicate(e.LeafHash, rec.Index)
	}
	// Record an integrated time before the leaf can reach the log, so that
	// every leaf has one even if the process dies before Append returns.
	if err := l.entries.Put(ctx, e.LeafHash, EntryRecord{IntegratedTime: l.now().Unix()}); err != nil {
		return nil, fmt.Errorf("append v1 entry: %w", err)
	}
	idx, cpRaw, err := l.awaiter.Await(ctx, l.add(ctx, tessera.NewEntry(e.Body)))
	if err != nil {
		if ctx.Err() == nil {
			if herr := l.health.Health(ctx); herr != nil {
				err = herr // as in Log.appendEntry
			}
		}
		return nil, fmt.Errorf("append v1 entry: %w", err)
	}
	// The entry is integrated now; this is the time its SETs promise.
	rec = EntryRecord{IntegratedTime: l.now().Unix(), Index: idx.Index, Indexed: true}
	if err := l.entries.Put(ctx, e.LeafHash, rec); err != nil {
		return nil, fmt.Errorf("append v1 entry %d: %w", idx.Index, err)
	}
	if err := l.search.Add(ctx, e.UUID(), e.SearchKeys); err != nil {
		return nil, fmt.Errorf("index v1 entry %d: %w", idx.Index, err)
	}
	if idx.IsDup {
		// An identical leaf appended earlier by this process, whose append
		// was given up before it was recorded.
		return nil, l.duplicate(e.LeafHash, idx.Index)
	}
	cp, err := l.parseCheckpoint(cpRaw)
	if err != nil {
		return nil, fmt.Errorf("append v1 entry %d: %w", idx.Index, err)
	}
	out, err := l.logEntry(ctx, idx.Index, e.Body, rec.IntegratedTime, cp)
	if err != nil {
		return nil, fmt.Errorf("append v1 entry %d: %w", idx.Index, err)
	}
	return out, nil
}

func (l *Log) duplicate(leaf [32]byte, index uint64) *DuplicateError {
	uuid := hex.EncodeToString(leaf[:])
	return &DuplicateError{EntryID: EntryID(l.signer.treeID, uuid), UUID: uuid, Index: index}
}

// EntryByUUID returns the entry with the given UUID or entry ID (GET
// /api/v1/log/entries/{entryUUID}) with an inclusion proof against the
// latest checkpoint. Errors wrap [ErrInvalidQuery] for a malformed ID and
// os.ErrNotExist (404) for an unknown one or another tree's entry ID.
func (l *Log) EntryByUUID(ctx context.Context, id string) (*LogEntry, error) {
	leaf, treeID, hasTree, err := ParseEntryID(id)
	if err != nil {
		return nil, err
	}
	if hasTree && treeID != l.signer.treeID {
		return nil, fmt.Errorf("entry %s: tree %d is not this log's: %w", id, treeID, os.ErrNotExist)
	}
	return l.entryByLeafHash(ctx, leaf)
}

func (l *Log) entryByLeafHash(ctx context.Context, leaf [32]byte) (*LogEntry, error) {
	uuid := hex.EncodeToString(leaf[:])
	rec, ok, err := l.entries.Get(ctx, leaf)
	if err != nil {
		return nil, fmt.Errorf("entry %s: %w", uuid, err)
	}
	if !ok || !rec.Indexed {
		return nil, fmt.Errorf("entry %s: %w", uuid, os.ErrNotExist)
	}
	cp, err := l.checkpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("entry %s: %w", uuid, err)
	}
	if rec.Index >= cp.Size {
		return nil, fmt.Errorf("entry %s at %d not yet in a checkpoint: %w", uuid, rec.Index, os.ErrNotExist)
	}
	body, err := l.leafAt(ctx, rec.Index, cp.Size)
	if err != nil {
		return nil, fmt.Errorf("entry %s: %w", uuid, err)
	}
	if got := rfc6962.DefaultHasher.HashLeaf(body); !bytes.Equal(got, leaf[:]) {
		return nil, fmt.Errorf("entry %s: leaf %d has hash %x: entry store disagrees with the log", uuid, rec.Index, got)
	}
	return l.logEntry(ctx, rec.Index, body, rec.IntegratedTime, cp)
}

// EntryByIndex returns the entry at index (GET
// /api/v1/log/entries?logIndex=N) with an inclusion proof against the latest
// checkpoint. Errors wrap [ErrInvalidQuery] for a negative index and
// os.ErrNotExist (404) for one beyond the latest checkpoint.
func (l *Log) EntryByIndex(ctx context.Context, index int64) (*LogEntry, error) {
	if index < 0 {
		return nil, fmt.Errorf("log index %d is negative: %w", index, ErrInvalidQuery)
	}
	i := uint64(index)
	cp, err := l.checkpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("entry %d: %w", i, err)
	}
	if i >= cp.Size {
		return nil, fmt.Errorf("entry %d beyond tree size %d: %w", i, cp.Size, os.ErrNotExist)
	}
	body, err := l.leafAt(ctx, i, cp.Size)
	if err != nil {
		return nil, fmt.Errorf("entry %d: %w", i, err)
	}
	var leaf [32]byte
	copy(leaf[:], rfc6962.DefaultHasher.HashLeaf(body))
	rec, ok, err := l.entries.Get(ctx, leaf)
	if err == nil && (!ok || !rec.Indexed) {
		// Appended just before a crash and not reconciled yet.
		if err = l.Follow(ctx); err == nil {
			rec, ok, err = l.entries.Get(ctx, leaf)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("entry %d: %w", i, err)
	}
	if !ok {
		return nil, fmt.Errorf("entry %d: no integrated time recorded", i)
	}
	return l.logEntry(ctx, i, body, rec.IntegratedTime, cp)
}

// Retrieve answers POST /api/v1/log/entries/retrieve as Rekor does: the
// entries found for each UUID or entry ID, proposed entry (canonicalized to
// find its UUID) and log index, in that order; those not found are left
// out. Errors wrap [ErrTooManyQueries] (422), [ErrInvalidQuery] or
// [tlog.ErrInvalidRequest] (400).
func (l *Log) Retrieve(ctx context.Context, q SearchLogQuery) ([]*LogEntry, error) {
	if n := len(q.EntryUUIDs) + len(q.Entries) + len(q.LogIndexes); n > MaxSearchQueries {
		return nil, fmt.Errorf("%d queries: %w", n, ErrTooManyQueries)
	}
	var out []*LogEntry
	collect := func(e *LogEntry, err error) error {
		switch {
		case err == nil:
			out = append(out, e)
		case !errors.Is(err, os.ErrNotExist):
			return err
		}
		return nil
	}
	for _, id := range q.EntryUUIDs {
		if err := collect(l.EntryByUUID(ctx, id)); err != nil {
			return nil, fmt.Errorf("retrieve %s: %w", id, err)
		}
	}
	for i, raw := range q.Entries {
		leaf, err := proposedLeafHash(ctx, raw)
		if err != nil {
			return nil, fmt.Errorf("retrieve entries[%d]: %w", i, err)
		}
		if err := collect(l.entryByLeafHash(ctx, leaf)); err != nil {
			return nil, fmt.Errorf("retrieve entries[%d]: %w", i, err)
		}
	}
	for _, idx := range q.LogIndexes {
		if err := collect(l.EntryByIndex(ctx, idx)); err != nil {
			return nil, fmt.Errorf("retrieve index %d: %w", idx, err)
		}
	}
	return out, nil
}

// proposedLeafHash canonicalizes a proposed entry the way Rekor's search
// does (verifying it, but not requiring the fields only inserts need) and
// returns its leaf hash.
func proposedLeafHash(_ context.Context, raw []byte) ([32]byte, error) {
	e, err := newEntry(raw, false)
	if err != nil {
		return [32]byte{}, err
	}
	return e.LeafHash, nil
}

// SearchIndex answers POST /api/v1/index/retrieve: the entry IDs of entries
// matching the query's artifact hash, public key and email, combined with
// its operator ("or", the default, or "and"), sorted. A hash that is not a
// hex digest, an email that is not an address or a key that does not parse
// is refused, as Rekor's API refuses them, with an error wrapping
// [ErrInvalidQuery].
func (l *Log) SearchIndex(ctx context.Context, q SearchIndexQuery) ([]string, error) {
	op := strings.ToLower(q.Operator)
	if op == "" {
		op = "or"
	}
	if op != "or" && op != "and" {
		return nil, fmt.Errorf("operator %q is neither \"and\" nor \"or\": %w", q.Operator, ErrInvalidQuery)
	}
	var criteria []string
	if q.Hash != "" {
		k, err := hashSearchKey(q.Hash)
		if err != nil {
			return nil, err
		}
		criteria = append(criteria, k)
	}
	if q.PublicKey != nil {
		k, err := publicKeySearchKey(q.PublicKey)
		if err != nil {
			return nil, err
		}
		criteria = append(criteria, k)
	}
	if q.Email != "" {
		k, err := emailSearchKey(q.Email)
		if err != nil {
			return nil, err
		}
		criteria = append(criteria, k)
	}
	var result map[string]bool
	for i, key := range criteria {
		uuids, err := l.search.Lookup(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("search index: %w", err)
		}
		found := make(map[string]bool, len(uuids))
		for _, u := range uuids {
			if op == "or" || i == 0 || result[u] {
				found[u] = true
			}
		}
		if op == "or" {
			for u := range result {
				found[u] = true
			}
		}
		result = found
	}
	ids := make([]string, 0, len(result))
	for u := range result {
		ids = append(ids, EntryID(l.signer.treeID, u))
	}
	slices.Sort(ids)
	return ids, nil
}

// LogInfo returns the log's state (GET /api/v1/log): root hash, tree size,
// signed checkpoint and tree ID.
func (l *Log) LogInfo(ctx context.Context) (*LogInfo, error) {
	cp, err := l.checkpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("log info: %w", err)
	}
	signed, err := l.signedCheckpoint(cp.Size, cp.Hash)
	if err != nil {
		return nil, fmt.Errorf("log info: %w", err)
	}
	return &LogInfo{
		RootHash:       hex.EncodeToString(cp.Hash),
		TreeSize:       int64(cp.Size), // bounded by parseCheckpoint
		SignedTreeHead: signed,
		TreeID:         strconv.FormatInt(l.signer.treeID, 10),
	}, nil
}

// ConsistencyProof returns the proof that the tree of lastSize leaves extends
// the tree of firstSize (GET /api/v1/log/proof), with the root hash of the
// larger tree. Errors wrap [ErrInvalidQuery] for firstSize < 1, firstSize >
// lastSize or lastSize beyond the latest checkpoint.
func (l *Log) ConsistencyProof(ctx context.Context, firstSize, lastSize int64) (*ConsistencyProof, error) {
	if firstSize < 1 || firstSize > lastSize {
		return nil, fmt.Errorf("consistency proof from %d to %d: sizes must satisfy 1 <= firstSize <= lastSize: %w", firstSize, lastSize, ErrInvalidQuery)
	}
	cp, err := l.checkpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("consistency proof: %w", err)
	}
	first, last := uint64(firstSize), uint64(lastSize)
	if last > cp.Size {
		return nil, fmt.Errorf("consistency proof to %d beyond tree size %d: %w", last, cp.Size, ErrInvalidQuery)
	}
	root, err := l.rootAt(ctx, last, cp)
	if err != nil {
		return nil, fmt.Errorf("consistency proof: %w", err)
	}
	hashes, err := l.prover.Consistency(ctx, first, last)
	if err != nil {
		return nil, fmt.Errorf("consistency proof %d to %d: %w", first, last, err)
	}
	return &ConsistencyProof{RootHash: hex.EncodeToString(root), Hashes: hexHashes(hashes)}, nil
}

// InclusionProof returns the proof that the entry at index is in the tree of
// treeSize leaves (zero: the latest checkpoint's tree), with a checkpoint
// signed for that tree. Errors wrap [ErrInvalidQuery] for an index outside
// the tree or a tree larger than the latest checkpoint's.
func (l *Log) InclusionProof(ctx context.Context, index, treeSize int64) (*InclusionProof, error) {
	cp, err := l.checkpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof: %w", err)
	}
	size := uint64(treeSize)
	if treeSize == 0 {
		size = cp.Size
	}
	if treeSize < 0 || size > cp.Size || index < 0 || uint64(index) >= size {
		return nil, fmt.Errorf("inclusion proof for %d in tree of %d (latest %d): %w", index, treeSize, cp.Size, ErrInvalidQuery)
	}
	root, err := l.rootAt(ctx, size, cp)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof: %w", err)
	}
	body, err := l.leafAt(ctx, uint64(index), cp.Size)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof: %w", err)
	}
	return l.inclusionProof(ctx, uint64(index), body, size, root)
}

// Reindex rebuilds the search index from the log alone: it empties it and
// re-derives every entry's search keys from its canonical body. Keys only a
// proposed entry carries (in-toto statement subjects) are not recovered, as
// with Rekor's index backfill.
func (l *Log) Reindex(ctx context.Context) error {
	l.followMu.Lock()
	defer l.followMu.Unlock()
	if err := l.entries.SetFollowedSize(ctx, 0); err != nil {
		return fmt.Errorf("reindex: %w", err)
	}
	if err := l.search.Reset(ctx); err != nil {
		return fmt.Errorf("reindex: %w", err)
	}
	if err := l.follow(ctx); err != nil {
		return fmt.Errorf("reindex: %w", err)
	}
	return nil
}

// Follow reconciles the entry store and search index with every leaf the
// tree has integrated: it records the index (and, for a leaf that has none,
// the current time as integrated time) of leaves appended by interrupted
// appends, and adds their search keys. The log does this when it opens and
// every second in the background; Follow runs it now.
func (l *Log) Follow(ctx context.Context) error {
	l.followMu.Lock()
	defer l.followMu.Unlock()
	return l.follow(ctx)
}

// LastFollowError returns the error of the latest background
// reconciliation, or nil if it succeeded.
func (l *Log) LastFollowError() error {
	if p := l.followErr.Load(); p != nil {
		return *p
	}
	return nil
}

func (l *Log) followLoop(ctx context.Context) {
	t := time.NewTicker(v1FollowInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			err := l.Follow(ctx)
			if ctx.Err() != nil {
				return
			}
			l.followErr.Store(&err)
		}
	}
}

// follow does Follow's work; l.followMu must be held.
func (l *Log) follow(ctx context.Context) error {
	size, err := l.reader.IntegratedSize(ctx)
	if err != nil {
		return fmt.Errorf("follow v1 log: %w", err)
	}
	from, err := l.entries.FollowedSize(ctx)
	if err != nil {
		return fmt.Errorf("follow v1 log: %w", err)
	}
	var errs []error
	for from < size {
		bundle, err := client.GetEntryBundle(ctx, l.reader.ReadEntryBundle, from/layout.EntryBundleWidth, size)
		if err != nil {
			return fmt.Errorf("follow v1 log at %d: %w", from, err)
		}
		base := from - from%layout.EntryBundleWidth
		next := base + uint64(len(bundle.Entries))
		if next <= from {
			return fmt.Errorf("follow v1 log at %d: entry bundle holds %d entries", from, len(bundle.Entries))
		}
		for i := from; i < next && i < size; i++ {
			if err := l.reconcile(ctx, i, bundle.Entries[i-base]); err != nil {
				// A leaf this log wrote that cannot be indexed must not stop
				// the others from being indexed.
				errs = append(errs, fmt.Errorf("follow v1 log entry %d: %w", i, err))
			}
		}
		from = min(next, size)
		if err := l.entries.SetFollowedSize(ctx, from); err != nil {
			return fmt.Errorf("follow v1 log: %w", err)
		}
	}
	return errors.Join(errs...)
}

// reconcile records the index of the leaf body at index and adds its search
// keys.
func (l *Log) reconcile(ctx context.Context, index uint64, body []byte) error {
	var leaf [32]byte
	copy(leaf[:], rfc6962.DefaultHasher.HashLeaf(body))
	unlock := l.leafLocks.lock(leaf)
	rec, ok, err := l.entries.Get(ctx, leaf)
	if err == nil && (!ok || !rec.Indexed) {
		if !ok {
			// Only when the entry store lost the record: the leaf was
			// integrated no later than now.
			rec.IntegratedTime = l.now().Unix()
		}
		rec.Index, rec.Indexed = index, true
		err = l.entries.Put(ctx, leaf, rec)
	}
	unlock()
	if err != nil {
		return err
	}
	e, err := ParseEntry(ctx, body)
	if err != nil {
		return err
	}
	return l.search.Add(ctx, e.UUID(), e.SearchKeys)
}

// checkpoint returns the latest verified checkpoint of the tree; before the
// first one is published it is the empty tree's.
func (l *Log) checkpoint(ctx context.Context) (*f_log.Checkpoint, error) {
	raw, err := l.reader.ReadCheckpoint(ctx)
	if errors.Is(err, os.ErrNotExist) {
		empty := rfc6962.DefaultHasher.EmptyRoot()
		return &f_log.Checkpoint{Origin: l.verifier.Name(), Hash: empty}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	return l.parseCheckpoint(raw)
}

// parseCheckpoint verifies and parses a checkpoint, remembering the last one
// as [Log.parseCheckpoint] does.
func (l *Log) parseCheckpoint(raw []byte) (*f_log.Checkpoint, error) {
	if last := l.lastCP.Load(); last != nil && bytes.Equal(last.raw, raw) {
		return last.cp, nil
	}
	cp, _, _, err := f_log.ParseCheckpoint(raw, l.verifier.Name(), l.verifier)
	if err != nil {
		return nil, fmt.Errorf("verify checkpoint: %v: %w", err, tlog.ErrIntegrity)
	}
	if err := checkInt64(cp.Size); err != nil {
		return nil, fmt.Errorf("checkpoint size: %w", err)
	}
	l.lastCP.Store(&parsedCheckpoint{raw: bytes.Clone(raw), cp: cp})
	return cp, nil
}

// signedCheckpoint returns the Rekor v1 checkpoint for the tree of size and
// root, reusing the last one made for the same tree.
func (l *Log) signedCheckpoint(size uint64, root []byte) (string, error) {
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	if l.cpSigned != "" && l.cpSize == size && bytes.Equal(l.cpRoot, root) {
		return l.cpSigned, nil
	}
	signed, err := l.signer.signCheckpoint(size, root)
	if err != nil {
		return "", err
	}
	if size >= l.cpSize {
		l.cpSize, l.cpRoot, l.cpSigned = size, bytes.Clone(root), signed
	}
	return signed, nil
}

// leafAt returns the leaf at index, read from the tree of treeSize leaves.
func (l *Log) leafAt(ctx context.Context, index, treeSize uint64) ([]byte, error) {
	bundle, err := client.GetEntryBundle(ctx, l.reader.ReadEntryBundle, index/layout.EntryBundleWidth, treeSize)
	if err != nil {
		return nil, fmt.Errorf("read leaf %d: %w", index, err)
	}
	i := index % layout.EntryBundleWidth
	if i >= uint64(len(bundle.Entries)) {
		return nil, fmt.Errorf("read leaf %d: bundle holds %d entries", index, len(bundle.Entries))
	}
	return bundle.Entries[i], nil
}

// rootAt returns the root hash of the tree of size leaves, a prefix of the
// checkpointed tree cp, from the tiles, after proving it consistent with
// cp: the log signs checkpoints for it.
func (l *Log) rootAt(ctx context.Context, size uint64, cp *f_log.Checkpoint) ([]byte, error) {
	if size == cp.Size {
		return cp.Hash, nil
	}
	if size == 0 {
		return rfc6962.DefaultHasher.EmptyRoot(), nil
	}
	root, err := l.prover.Root(ctx, size)
	if err != nil {
		return nil, fmt.Errorf("root of tree %d: %w", size, err)
	}
	hashes, err := l.prover.Consistency(ctx, size, cp.Size)
	if err != nil {
		return nil, fmt.Errorf("root of tree %d: %w", size, err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, size, cp.Size, hashes, root, cp.Hash); err != nil {
		return nil, fmt.Errorf("root of tree %d is not consistent with the checkpoint of size %d: %s: %w", size, cp.Size, tiles.OneLine(err), tlog.ErrIntegrity)
	}
	return root, nil
}

// inclusionProof proves the leaf body at index in the tree of size leaves
// with root, checks the proof and signs a checkpoint for the tree.
func (l *Log) inclusionProof(ctx context.Context, index uint64, body []byte, size uint64, root []byte) (*InclusionProof, error) {
	hashes, err := l.prover.Inclusion(ctx, index, size)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof for %d in tree of %d: %w", index, size, err)
	}
	if err := tiles.VerifyInclusion(index, size, rfc6962.DefaultHasher.HashLeaf(body), hashes, root); err != nil {
		return nil, fmt.Errorf("verify inclusion proof for %d in tree of %d: %w", index, size, err)
	}
	signed, err := l.signedCheckpoint(size, root)
	if err != nil {
		return nil, err
	}
	return &InclusionProof{
		Checkpoint: signed,
		Hashes:     hexHashes(hashes),
		LogIndex:   int64(index), // index < size, which checkInt64 bounds
		RootHash:   hex.EncodeToString(root),
		TreeSize:   int64(size),
	}, nil
}

// logEntry assembles the v1 LogEntry of the leaf body at index, proved
// against the checkpoint cp.
func (l *Log) logEntry(ctx context.Context, index uint64, body []byte, integratedTime int64, cp *f_log.Checkpoint) (*LogEntry, error) {
	if index >= cp.Size {
		return nil, fmt.Errorf("checkpoint of size %d does not commit to index %d", cp.Size, index)
	}
	ip, err := l.inclusionProof(ctx, index, body, cp.Size, cp.Hash)
	if err != nil {
		return nil, err
	}
	set, err := l.signer.signSET(body, integratedTime, int64(index))
	if err != nil {
		return nil, err
	}
	uuid := hex.EncodeToString(rfc6962.DefaultHasher.HashLeaf(body))
	return &LogEntry{
		EntryID:        EntryID(l.signer.treeID, uuid),
		UUID:           uuid,
		Body:           body,
		IntegratedTime: integratedTime,
		LogID:          hex.EncodeToString(l.signer.logID[:]),
		LogIndex:       int64(index),
		Verification:   Verification{InclusionProof: ip, SignedEntryTimestamp: set},
	}, nil
}

func hexHashes(hashes [][]byte) []string {
	out := make([]string, len(hashes))
	for i, h := range hashes {
		out[i] = hex.EncodeToString(h)
	}
	return out
}

// keyedMutex serializes work on the same leaf hash.
type keyedMutex struct {
	mu sync.Mutex
	m  map[[32]byte]*keyedLock
}

type keyedLock struct {
	mu   sync.Mutex
	refs int
}

// lock locks key and returns the function that unlocks it.
func (k *keyedMutex) lock(key [32]byte) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = make(map[[32]byte]*keyedLock)
	}
	kl := k.m[key]
	if kl == nil {
		kl = &keyedLock{}
		k.m[key] = kl
	}
	kl.refs++
	k.mu.Unlock()
	kl.mu.Lock()
	return func() {
		kl.mu.Unlock()
		k.mu.Lock()
		if kl.refs--; kl.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}

// writeFileDurably writes data to path through a synced temporary file
// renamed into place, then syncs the directory, so that a crash leaves
// either the old or the new content.
func writeFileDurably(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := syncFile(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncFile(filepath.Dir(path))
}

// Health is [tlog.Log.Health] for the Rekor v1 log.
func (l *Log) Health(ctx context.Context) error { return l.health.Health(ctx) }

// Ready is [tlog.Log.Ready] for the Rekor v1 log.
func (l *Log) Ready(ctx context.Context) error { return l.health.Ready(ctx) }

// IntegrityFailures is [tlog.Log.IntegrityFailures] for the Rekor v1 log.
func (l *Log) IntegrityFailures() uint64 { return l.guard.Failures() }

// parsedCheckpoint is a verified checkpoint with its signed bytes.
type parsedCheckpoint struct {
	raw []byte
	cp  *f_log.Checkpoint
}

// expired returns a context that is already cancelled, keeping ctx's
// values.
func expired(ctx context.Context) context.Context {
	c, cancel := context.WithCancel(ctx)
	cancel()
	return c
}

// checkInt64 checks that v fits the int64 of the Rekor v1 API's JSON.
func checkInt64(v uint64) error {
	if v > math.MaxInt64 {
		return fmt.Errorf("%d overflows int64", v)
	}
	return nil
}
