package tlog

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/signetproject/signet/tlog/internal/guard"
	"github.com/signetproject/signet/tlog/internal/tiles"
	commonv1 "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorv1 "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekorpb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera"
	"golang.org/x/mod/sumdb/note"
)

// Options tune a [Log]. Start from [DefaultOptions].
//
// Append latency is dominated by checkpoint publication: Tessera publishes at
// most one checkpoint per CheckpointInterval (100 ms at least on POSIX), and a
// batch integrated sooner than that after the previous checkpoint waits a whole
// further interval. The defaults therefore let a batch fill for about one
// checkpoint interval, so that it is integrated just as the next checkpoint
// may be published: about 110 ms for a lone append and a p50 of about 130 ms
// for clients appending back to back (see BenchmarkAppend). Batches may hold
// up to 4096 entries so that, under load, one integration (with its fsyncs)
// carries many clients' entries.
type Options struct {
	// BatchMaxSize is the most entries Tessera sequences in one batch.
	BatchMaxSize uint
	// BatchMaxAge is the longest an entry waits for its batch to fill.
	BatchMaxAge time.Duration
	// CheckpointInterval is the shortest time between two published
	// checkpoints; it bounds how long an append waits for a checkpoint
	// committing to it. The POSIX driver requires at least 100 ms.
	CheckpointInterval time.Duration
	// PollInterval is how often waiting appends read the latest checkpoint.
	PollInterval time.Duration
	// PushbackMaxOutstanding is the number of sequenced but not yet
	// integrated entries above which appends fail with tessera.ErrPushback.
	PushbackMaxOutstanding uint
	// DedupCacheSize is the number of recent entries remembered to detect
	// duplicates ([DuplicateError]); zero turns deduplication off. The cache
	// lives in memory, so a duplicate of an entry appended before a restart is
	// appended again, which is harmless.
	DedupCacheSize uint
	// Algorithms are the accepted client signing algorithms; nil means
	// [DefaultAlgorithms].
	Algorithms []commonv1.PublicKeyDetails
	// RetiredKeys are the Ed25519 public keys a Rekor v2 log signed its
	// checkpoints with before its key was rotated. Checkpoints they signed
	// count as the log's own: the published checkpoint until the next one
	// is published, and the last signed checkpoint every new one must be
	// consistent with. The log signs only with its current key. The Rekor
	// v1 log's key is not rotated: its options must leave this empty.
	RetiredKeys []crypto.PublicKey
}

// DefaultOptions returns options tuned for low append latency.
func DefaultOptions() Options {
	return Options{
		BatchMaxSize:           4096,
		BatchMaxAge:            100 * time.Millisecond,
		CheckpointInterval:     100 * time.Millisecond,
		PollInterval:           5 * time.Millisecond,
		PushbackMaxOutstanding: tessera.DefaultPushbackMaxOutstanding,
		DedupCacheSize:         64 << 10,
	}
}

// Validate reports whether the options can be used.
func (o Options) Validate() error {
	var errs []error
	if o.BatchMaxSize == 0 {
		errs = append(errs, errors.New("BatchMaxSize must be positive"))
	}
	if o.BatchMaxAge <= 0 {
		errs = append(errs, errors.New("BatchMaxAge must be positive"))
	}
	if o.CheckpointInterval <= 0 {
		errs = append(errs, errors.New("CheckpointInterval must be positive"))
	}
	if o.PollInterval <= 0 {
		errs = append(errs, errors.New("PollInterval must be positive"))
	}
	if o.PushbackMaxOutstanding == 0 {
		errs = append(errs, errors.New("PushbackMaxOutstanding must be positive"))
	}
	if _, err := newAlgorithmSet(o.Algorithms); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid tlog options: %w", err)
	}
	return nil
}

// Log is a Rekor v2 transparency log. Its methods are safe for concurrent use.
type Log struct {
	origin    string
	pub       ed25519.PublicKey
	logID     []byte
	verifier  note.Verifier
	verifiers []note.Verifier // verifier, then those of opts.RetiredKeys
	vkey      string
	algs      algorithmSet

	add         tessera.AddFn
	reader      tessera.LogReader
	awaiter     *guard.Awaiter
	prover      *tiles.Prover
	guard       *guard.Guard
	health      *guard.Probe
	served      *served
	checkpoints checkpointCache
	shutdown    func(context.Context) error
	cancel      context.CancelFunc

	closeOnce sync.Once
	closeErr  error
}

// New opens the log kept by driver (a driver of package [storage]: POSIX,
// MySQL or AWS; others are refused) for appending and reading. origin is the checkpoint
// origin, the hostname of the log's base URL; key signs checkpoints and must
// hold an Ed25519 key. Background work runs until [Log.Close] is called or ctx
// is cancelled; call Close first so acknowledged entries get a checkpoint.
func New(ctx context.Context, driver tessera.Driver, origin string, key crypto.Signer, opts Options) (*Log, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	algs, err := newAlgorithmSet(opts.Algorithms)
	if err != nil {
		return nil, err
	}
	signer, pub, err := newNoteSigner(origin, key)
	if err != nil {
		return nil, fmt.Errorf("open tlog: %w", err)
	}
	verifier, vkey, err := newNoteVerifier(origin, pub)
	if err != nil {
		return nil, fmt.Errorf("open tlog: %w", err)
	}
	verifiers := []note.Verifier{verifier}
	for i, k := range opts.RetiredKeys {
		rpub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("open tlog: retired key %d is a %T, want an Ed25519 key", i, k)
		}
		v, _, err := newNoteVerifier(origin, rpub)
		if err != nil {
			return nil, fmt.Errorf("open tlog: retired key %d: %w", i, err)
		}
		verifiers = append(verifiers, v)
	}

	bg, cancel := context.WithCancel(ctx)
	g, appender, shutdown, reader, prover, err := guard.Open(bg, driver, signer, verifiers, origin, opts.AppendOptions(), tiles.EntryBundleLeaves)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("open tlog: %w", err)
	}
	l := &Log{
		origin:    origin,
		pub:       pub,
		logID:     signer.logID,
		verifier:  verifier,
		verifiers: verifiers,
		vkey:      vkey,
		algs:      algs,
		add:       appender.Add,
		reader:    reader,
		awaiter:   guard.NewAwaiter(bg, reader.ReadCheckpoint, opts.PollInterval),
		prover:    prover,
		guard:     g,
		shutdown:  shutdown,
		cancel:    cancel,
	}
	l.health = guard.NewProbe(g, reader, l.parseCheckpoint, opts.CheckpointInterval)
	l.served = newServed(prover, reader.ReadTile, reader.ReadEntryBundle, tiles.EntryBundleLeaves)
	g.SetOnFail(l.stopOnIntegrityFailure)
	return l, nil
}

// stopOnIntegrityFailure fails every waiting and future append with err
// and stops Tessera's background work: nothing more will be published, and
// Tessera would otherwise retry (and log) a refused checkpoint ten times
// a second. Reads go on.
func (l *Log) stopOnIntegrityFailure(err error) {
	l.awaiter.Halt(err)
	l.cancel()
}

// expired returns a context derived from ctx that has already ended.
func expired(ctx context.Context) context.Context {
	c, cancel := context.WithCancel(ctx)
	cancel()
	return c
}

// AppendOptions are Tessera's append options for o, without the
// checkpoint signer (the consistency guard adds its own).
func (o Options) AppendOptions() *tessera.AppendOptions {
	ao := tessera.NewAppendOptions().
		WithBatching(o.BatchMaxSize, o.BatchMaxAge).
		WithCheckpointInterval(o.CheckpointInterval).
		WithPushback(o.PushbackMaxOutstanding)
	if o.DedupCacheSize > 0 {
		ao = ao.WithAntispam(o.DedupCacheSize, nil)
	}
	return ao
}

// Close waits until every acknowledged entry is committed to by a published
// checkpoint (bounded by ctx), then stops the log's background work. Appends
// after Close fail.
func (l *Log) Close(ctx context.Context) error {
	l.closeOnce.Do(func() {
		if err := l.guard.Failure(); err != nil {
			// No checkpoint will come: do not wait for one.
			ctx = expired(ctx)
			l.closeErr = fmt.Errorf("close tlog: entries not yet in a checkpoint are abandoned: %w", err)
		}
		if err := l.shutdown(ctx); err != nil && l.closeErr == nil {
			l.closeErr = fmt.Errorf("close tlog: %w", err)
		}
		l.cancel()
		l.awaiter.Wait()
	})
	return l.closeErr
}

// Append validates a create-entry request, verifies its signatures, appends
// the canonicalized entry and waits until a signed checkpoint commits to it.
// The returned entry carries the log index, log ID, kind and version,
// canonicalized body and an inclusion proof with the signed checkpoint, as
// rekor-tiles returns it; Rekor v2 entries have no integrated time. An entry
// is durably stored once Append returns it.
//
// Errors: [ErrInvalidRequest] (and its children) for bad requests, a
// [*DuplicateError] for an entry already in the log, a wrapped
// tessera.ErrPushback when the log is overloaded, and ctx's error when ctx
// ends first (the entry may still be appended).
func (l *Log) Append(ctx context.Context, req *rekorpb.CreateEntryRequest) (*rekorv1.TransparencyLogEntry, error) {
	entry, err := l.algs.newEntry(req, true)
	if err != nil {
		return nil, err
	}
	return l.appendEntry(ctx, entry)
}

// appendEntry appends an entry validated by newEntry.
func (l *Log) appendEntry(ctx context.Context, entry *rekorpb.Entry) (*rekorv1.TransparencyLogEntry, error) {
	body, err := CanonicalBody(entry)
	if err != nil {
		return nil, err
	}
	if len(body) > MaxEntrySize {
		return nil, fmt.Errorf("entry of %d bytes exceeds %d: %w", len(body), MaxEntrySize, ErrEntryTooLarge)
	}
	if err := l.guard.Failure(); err != nil {
		return nil, fmt.Errorf("append entry: %w", err)
	}
	idx, cpRaw, err := l.awaiter.Await(ctx, l.add(ctx, tessera.NewEntry(body)))
	if err != nil {
		if ctx.Err() == nil {
			// Say why if the log is unsound (say, its published
			// checkpoint is damaged) rather than how reading it failed.
			if herr := l.health.Health(ctx); herr != nil {
				err = herr
			}
		}
		return nil, fmt.Errorf("append entry: %w", err)
	}
	if idx.IsDup {
		return nil, &DuplicateError{Index: idx.Index}
	}
	// Tessera's entry holds this leaf hash too, but taking it from there
	// measured slower at 2,048 clients (BenchmarkAppend): the runtime
	// copied the waiting appends' stacks much more often.
	proof, err := l.inclusionProofAt(ctx, idx.Index, rfc6962.DefaultHasher.HashLeaf(body), cpRaw)
	if err != nil {
		return nil, fmt.Errorf("append entry %d: %w", idx.Index, err)
	}
	return l.logEntry(idx.Index, KindVersion(entry), body, proof), nil
}

func (l *Log) logEntry(index uint64, kv *rekorv1.KindVersion, body []byte, proof *rekorv1.InclusionProof) *rekorv1.TransparencyLogEntry {
	return &rekorv1.TransparencyLogEntry{
		LogIndex:          int64(index), // bounded by checkInt64 in inclusionProofAt
		LogId:             &commonv1.LogId{KeyId: append([]byte(nil), l.logID...)},
		KindVersion:       kv,
		CanonicalizedBody: body,
		InclusionProof:    proof,
	}
}

func checkInt64(v uint64) error {
	if v > math.MaxInt64 {
		return fmt.Errorf("%d overflows int64", v)
	}
	return nil
}
