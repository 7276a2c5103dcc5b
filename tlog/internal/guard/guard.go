// Package guard runs a Tessera appender for signet's logs under a
// consistency guard: checkpoints are signed only after the new tree is
// proved to extend the last one signed (see [Guard]); [Probe] answers the
// logs' health and readiness questions and [Awaiter] waits for a
// checkpoint that commits to an entry.
package guard

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signetproject/signet/tlog/internal/tiles"
	"github.com/signetproject/signet/tlog/storage"
	f_log "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera"
	"golang.org/x/mod/sumdb/note"
)

// guardCheckTimeout bounds the reads a guard makes before it signs.
const guardCheckTimeout = 30 * time.Second

// Guard keeps a log from signing a checkpoint inconsistent with one it
// signed before. It sits between Tessera and the log's key as the
// checkpoint signer: before it signs a checkpoint it proves, from the
// tiles and entry bundles, that the new tree extends the last one it
// signed (kept in a [storage.Record], outside what Tessera rewrites), and it
// records each checkpoint durably before its signature leaves. When it
// opens, [Guard.open] checks Tessera's stored state the same way. A
// disagreement is an integrity failure: the guard refuses to sign from
// then on, appends wait for a checkpoint that never comes, and
// [Guard.Failure] reports the failure.
type Guard struct {
	signer    note.Signer
	verifiers []note.Verifier // the signer's, then retired keys' (see Options.RetiredKeys)
	origin    string
	record    storage.Record
	bg        context.Context

	mu        sync.Mutex
	last      *f_log.Checkpoint   // last checkpoint signed; nil before the first
	prover    *tiles.Prover       // set by attach
	bundles   tiles.BundleFetcher // set by attach
	leaves    tiles.LeafHashes    // set by attach
	opened    bool
	badRecord error // why the record last read did not verify

	failure  atomic.Pointer[error]       // the integrity failure, once found
	failures atomic.Uint64               // integrity failures found
	onFail   atomic.Pointer[func(error)] // called with the first failure
}

// newGuard returns a guard signing with signer, whose checkpoints
// verifiers[0] verifies under origin (the others verify checkpoints signed
// with keys the log rotated out), and loads the record's last signed
// checkpoint.
func newGuard(ctx context.Context, signer note.Signer, verifiers []note.Verifier, origin string, driver any) (*Guard, error) {
	record, ok := driver.(storage.Record)
	if !ok {
		return nil, fmt.Errorf("driver %T keeps no record of signed checkpoints; open the storage with package storage (NewPOSIX, NewMySQL, NewAWS)", driver)
	}
	g := &Guard{signer: signer, verifiers: verifiers, origin: origin, record: record, bg: ctx}
	// Tessera fails to open on a damaged tree state with a message that
	// does not say so; say it first.
	if _, _, err := record.TreeState(ctx); errors.Is(err, storage.ErrIntegrity) {
		return nil, g.Fail(fmt.Errorf("%s: %w", record.Where(), err))
	}
	if err := g.reload(ctx); err != nil {
		return nil, err
	}
	return g, nil
}

// Parse verifies and parses a checkpoint signed by the guarded key, or by
// a key the log rotated out.
func (g *Guard) Parse(raw []byte) (*f_log.Checkpoint, error) {
	return ParseSignedBy(raw, g.origin, g.verifiers)
}

// ParseSignedBy verifies and parses a checkpoint for origin signed by the
// log key of one of verifiers: a log's current key first, then keys it
// rotated out. The error is the current key's.
func ParseSignedBy(raw []byte, origin string, verifiers []note.Verifier) (*f_log.Checkpoint, error) {
	var first error
	for _, v := range verifiers {
		cp, _, _, err := f_log.ParseCheckpoint(raw, origin, v)
		if err == nil {
			return cp, nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		first = errors.New("no checkpoint verifier")
	}
	return nil, first
}

// attach gives the guard the log's readers, once Tessera's appender exists.
func (g *Guard) attach(p *tiles.Prover, bundles tiles.BundleFetcher, leaves tiles.LeafHashes) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.prover, g.bundles, g.leaves = p, bundles, leaves
}

// open checks, before the log accepts appends, that Tessera's published
// checkpoint, tree state, tiles and entry bundles agree with the last
// checkpoint the log signed, and from then on lets the guard sign larger
// trees. readCheckpoint reads Tessera's published checkpoint.
func (g *Guard) open(ctx context.Context, readCheckpoint func(context.Context) ([]byte, error)) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	where := g.record.Where()
	// The published checkpoint was signed by this guard, so it is at most
	// as large as the record; a larger one means the record was rolled
	// back (or predates the guard), and it becomes the baseline.
	pub, err := readCheckpoint(ctx)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("%s: read published checkpoint: %w", where, err)
	default:
		cp, err := g.Parse(pub)
		if err != nil {
			return g.Fail(fmt.Errorf("%s: the published checkpoint does not verify with the log's key: %v: %w", where, err, storage.ErrIntegrity))
		}
		switch {
		case g.last == nil || cp.Size > g.last.Size:
			if g.last != nil {
				if err := g.prover.CheckTree(ctx, g.bundles, g.leaves, g.last.Size, g.last.Hash, cp.Size, cp.Hash); err != nil {
					return g.Fail(fmt.Errorf("%s: the published checkpoint (size %d): %w", where, cp.Size, err))
				}
			}
			if err := g.record.StoreSigned(ctx, pub); err != nil {
				return err
			}
			g.last = cp
		case cp.Size == g.last.Size && !bytes.Equal(cp.Hash, g.last.Hash):
			return g.Fail(fmt.Errorf("%s: the published checkpoint has root %x for tree size %d, the log signed %x: %w", where, cp.Hash, cp.Size, g.last.Hash, storage.ErrIntegrity))
		}
	}
	size, root, err := g.record.TreeState(ctx)
	if err != nil {
		if errors.Is(err, storage.ErrIntegrity) {
			return g.Fail(fmt.Errorf("%s: %w", where, err))
		}
		return fmt.Errorf("%s: %w", where, err)
	}
	var oldSize uint64
	oldRoot := rfc6962.DefaultHasher.EmptyRoot()
	if g.last != nil {
		oldSize, oldRoot = g.last.Size, g.last.Hash
	} else if size > 0 {
		why := "no signed checkpoint"
		if g.badRecord != nil {
			why = fmt.Sprintf("no published checkpoint, and its record of the last signed one does not verify (%v)", g.badRecord)
		}
		return g.Fail(fmt.Errorf("%s: the tree state holds %d entries but the log has %s: %w", where, size, why, storage.ErrIntegrity))
	}
	if size == 0 && len(root) == 0 {
		root = rfc6962.DefaultHasher.EmptyRoot() // before Tessera's first write
	}
	if err := g.prover.CheckTree(ctx, g.bundles, g.leaves, oldSize, oldRoot, size, root); err != nil {
		if errors.Is(err, storage.ErrIntegrity) {
			return g.Fail(fmt.Errorf("%s: tree state (size %d): %w", where, size, err))
		}
		return fmt.Errorf("%s: %w", where, err)
	}
	g.opened = true
	return nil
}

// Fail records an integrity failure and returns it.
func (g *Guard) Fail(err error) error {
	if errors.Is(err, storage.ErrIntegrity) {
		g.failures.Add(1)
		if g.failure.CompareAndSwap(nil, &err) {
			if f := g.onFail.Load(); f != nil {
				(*f)(err)
			}
		}
	}
	return err
}

// SetOnFail makes the guard call f with the integrity failure it finds (or
// found already).
func (g *Guard) SetOnFail(f func(error)) {
	g.onFail.Store(&f)
	if err := g.Failure(); err != nil {
		f(err)
	}
}

// Failure returns the integrity failure the guard found, or nil.
func (g *Guard) Failure() error {
	if p := g.failure.Load(); p != nil {
		return *p
	}
	return nil
}

// sign checks the checkpoint body msg against the last signed checkpoint,
// signs it, records the signed checkpoint and returns the signature.
func (g *Guard) sign(msg []byte) ([]byte, error) {
	if err := g.Failure(); err != nil {
		return nil, fmt.Errorf("refusing to sign: %w", err)
	}
	var cp f_log.Checkpoint
	if _, err := cp.Unmarshal(msg); err != nil {
		return nil, g.Fail(fmt.Errorf("%s: refusing to sign checkpoint %.120q: %v: %w", g.record.Where(), msg, err, storage.ErrIntegrity))
	}
	if cp.Origin != g.origin {
		return nil, fmt.Errorf("refusing to sign a checkpoint for origin %q, not %q", cp.Origin, g.origin)
	}
	ctx, cancel := context.WithTimeout(g.bg, guardCheckTimeout)
	defer cancel()
	g.mu.Lock()
	defer g.mu.Unlock()
	// Servers sharing a database each run a guard: what another signed
	// counts too.
	if err := g.reload(ctx); err != nil {
		return nil, g.Fail(err)
	}
	var oldSize uint64
	oldRoot := rfc6962.DefaultHasher.EmptyRoot()
	switch {
	case g.last != nil:
		oldSize, oldRoot = g.last.Size, g.last.Hash
	case !g.opened && cp.Size != 0:
		// Only a new log's empty tree is signed before open has checked
		// the stored state.
		return nil, fmt.Errorf("refusing to sign tree size %d before the log's stored state is checked", cp.Size)
	}
	if g.prover == nil {
		if cp.Size != 0 || !bytes.Equal(cp.Hash, rfc6962.DefaultHasher.EmptyRoot()) {
			return nil, fmt.Errorf("refusing to sign tree size %d before the log's readers exist", cp.Size)
		}
	} else if err := g.prover.CheckTree(ctx, g.bundles, g.leaves, oldSize, oldRoot, cp.Size, cp.Hash); err != nil {
		return nil, g.Fail(fmt.Errorf("%s: refusing to sign tree size %d: %w", g.record.Where(), cp.Size, err))
	}
	sig, err := g.signer.Sign(msg)
	if err != nil {
		return nil, err
	}
	if g.last == nil || cp.Size != g.last.Size {
		if err := g.record.StoreSigned(ctx, SignedNote(msg, g.signer, sig)); err != nil {
			return nil, err
		}
		g.last = &cp
	}
	return sig, nil
}

// reload adopts the record's checkpoint if it is larger than the last one
// this guard signed. A record that does not verify (a write cut short by a
// power loss, or damage) is ignored: the published checkpoint, or the last
// one this guard signed, stands for it, as for a missing record.
func (g *Guard) reload(ctx context.Context) error {
	raw, err := g.record.LoadSigned(ctx)
	if err != nil || raw == nil {
		return err
	}
	cp, err := g.Parse(raw)
	if err != nil {
		g.badRecord = err
		return nil
	}
	g.badRecord = nil
	if g.last == nil || cp.Size > g.last.Size {
		g.last = cp
	}
	return nil
}

// SignedNote assembles the signed note that note.Sign makes from msg and
// one signer's signature sig.
func SignedNote(msg []byte, s note.Signer, sig []byte) []byte {
	hinted := binary.BigEndian.AppendUint32(nil, s.KeyHash())
	hinted = append(hinted, sig...)
	var b bytes.Buffer
	b.Write(msg)
	b.WriteString("\n\u2014 ")
	b.WriteString(s.Name())
	b.WriteByte(' ')
	b.WriteString(base64.StdEncoding.EncodeToString(hinted))
	b.WriteByte('\n')
	return b.Bytes()
}

// Failures counts the integrity failures the guard found.
func (g *Guard) Failures() uint64 { return g.failures.Load() }

// Signer returns the note.Signer Tessera signs checkpoints with: every
// signature goes through the guard's checks.
func (g *Guard) Signer() note.Signer { return guardedSigner{g} }

// guardedSigner is the note.Signer Tessera signs checkpoints with.
type guardedSigner struct{ g *Guard }

// Name implements note.Signer.
func (s guardedSigner) Name() string { return s.g.signer.Name() }

// KeyHash implements note.Signer.
func (s guardedSigner) KeyHash() uint32 { return s.g.signer.KeyHash() }

// Sign implements note.Signer.
func (s guardedSigner) Sign(msg []byte) ([]byte, error) { return s.g.sign(msg) }

// Open opens Tessera's appender on driver with checkpoints signed
// through a guard, checks the stored state (reading entry bundles with
// leaves) and returns both. On error everything opened is shut down.
func Open(ctx context.Context, driver tessera.Driver, signer note.Signer, verifiers []note.Verifier, origin string, ao *tessera.AppendOptions, leaves tiles.LeafHashes) (*Guard, *tessera.Appender, func(context.Context) error, tessera.LogReader, *tiles.Prover, error) {
	g, err := newGuard(ctx, signer, verifiers, origin, driver)
	if err != nil {
		return nil, nil, nil, nil, nil, err
	}
	appender, shutdown, reader, err := tessera.NewAppender(ctx, driver, ao.WithCheckpointSigner(g.Signer()))
	if err != nil {
		return nil, nil, nil, nil, nil, err
	}
	p := tiles.NewProver(reader.ReadTile)
	g.attach(p, reader.ReadEntryBundle, leaves)
	if err := g.open(ctx, reader.ReadCheckpoint); err != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = shutdown(sctx) // nothing was added: there is nothing to wait for
		return nil, nil, nil, nil, nil, err
	}
	return g, appender, shutdown, reader, p, nil
}
