package tlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signetproject/signet/tlog/internal/guard"
	f_log "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api/layout"
	"golang.org/x/mod/sumdb/note"
)

// GuardConfig configures [OpenGuarded]. Every field but CanSign is
// required.
type GuardConfig struct {
	// Signer signs the log's checkpoints.
	Signer note.Signer
	// Verifier verifies them; its name is the checkpoint origin.
	Verifier note.Verifier
	// Retired verify checkpoints signed with keys the log rotated out,
	// which are the log's own.
	Retired []note.Verifier
	// Append are Tessera's append options, without a checkpoint signer
	// (OpenGuarded sets the guarded one).
	Append *tessera.AppendOptions
	// CheckpointInterval is the one set in Append: readiness allows
	// publication to lag integration by a multiple of it.
	CheckpointInterval time.Duration
	// Leaves parses the log's entry bundles.
	Leaves LeafHashes
	// CanSign reports whether the checkpoint key can sign, for readiness.
	// Without it, readiness signs a message that is not a checkpoint with
	// Signer, which a signer that parses what it signs refuses.
	CanSign func() error
}

// Validate reports whether c can be used.
func (c GuardConfig) Validate() error {
	if c.Signer == nil || c.Verifier == nil || c.Append == nil || c.Leaves == nil || c.CheckpointInterval <= 0 {
		return errors.New("guard config: signer, verifier, append options, leaf parser and checkpoint interval are required")
	}
	if c.Signer.Name() != c.Verifier.Name() || c.Signer.KeyHash() != c.Verifier.KeyHash() {
		return fmt.Errorf("guard config: signer %q+%08x and verifier %q+%08x differ", c.Signer.Name(), c.Signer.KeyHash(), c.Verifier.Name(), c.Verifier.KeyHash())
	}
	return nil
}

// Guarded is a Tessera log whose checkpoints are signed through the
// consistency guard that keeps the transparency logs of this package from
// signing a checkpoint inconsistent with one they published, for a log
// whose entries this package does not know (the certificate transparency
// log). See [OpenGuarded].
type Guarded struct {
	appender *tessera.Appender
	reader   tessera.LogReader
	guard    *guard.Guard
	health   *guard.Probe
	served   *served
	shutdown func(context.Context) error
	cancel   context.CancelFunc
	lastCP   atomic.Pointer[parsedCheckpoint]

	closeOnce sync.Once
	closeErr  error
}

// OpenGuarded opens Tessera's appender on driver (a driver of package
// [storage]; other drivers are refused) with checkpoints signed
// through a guard: before it signs a checkpoint, the guard proves from the
// tiles and entry bundles that the new tree extends the last checkpoint
// signed, which it keeps durably outside what Tessera rewrites. Before it
// returns, OpenGuarded checks that the published checkpoint, tree state,
// tiles and entry bundles agree with that checkpoint; a disagreement is an
// error wrapping [ErrIntegrity]. Once the guard finds one later, it
// refuses to sign, stops Tessera's background work and [Guarded.Health]
// reports it. Background work runs until [Guarded.Close] or ctx ends.
func OpenGuarded(ctx context.Context, driver tessera.Driver, cfg GuardConfig) (*Guarded, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	bg, cancel := context.WithCancel(ctx)
	g, appender, shutdown, reader, prover, err := guard.Open(bg, driver, cfg.Signer, append([]note.Verifier{cfg.Verifier}, cfg.Retired...), cfg.Verifier.Name(), cfg.Append, cfg.Leaves)
	if err != nil {
		cancel()
		return nil, err
	}
	l := &Guarded{appender: appender, reader: reader, guard: g, shutdown: shutdown, cancel: cancel}
	l.health = guard.NewProbe(g, reader, l.parseCheckpoint, cfg.CheckpointInterval)
	l.health.CanSign = cfg.CanSign
	l.served = newServed(prover, reader.ReadTile, reader.ReadEntryBundle, cfg.Leaves)
	// Tessera would otherwise retry (and log) a refused checkpoint ten
	// times a second.
	g.SetOnFail(func(error) { cancel() })
	return l, nil
}

// Appender returns Tessera's appender. Check [Guarded.Failure] before
// adding: after an integrity failure no checkpoint will commit to new
// entries.
func (l *Guarded) Appender() *tessera.Appender { return l.appender }

// ReadCheckpoint returns the latest published signed checkpoint, once it
// verifies with the log's key (otherwise the error wraps [ErrIntegrity]);
// before the first one its error wraps os.ErrNotExist.
func (l *Guarded) ReadCheckpoint(ctx context.Context) ([]byte, error) {
	raw, err := l.reader.ReadCheckpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	if _, err := l.parseCheckpoint(raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// ReadTile returns the hash tile at level and index of width p (0: full),
// checked against the latest checkpoint as [Log.ReadTile] checks it.
func (l *Guarded) ReadTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
	cp, err := l.checkpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("read tile %s: %w", layout.TilePath(level, index, p), err)
	}
	t, err := l.served.tile(ctx, cp, level, index, p)
	if err != nil {
		return nil, fmt.Errorf("read tile %s: %w", layout.TilePath(level, index, p), err)
	}
	return t, nil
}

// ReadEntryBundle returns the entry bundle at index of width p (0: full)
// up to its p-th entry, checked against the latest checkpoint as
// [Log.ReadEntryBundle] checks it.
func (l *Guarded) ReadEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error) {
	cp, err := l.checkpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("read entry bundle %d: %w", index, err)
	}
	b, err := l.served.bundle(ctx, cp, index, p)
	if err != nil {
		return nil, fmt.Errorf("read entry bundle %d: %w", index, err)
	}
	return b, nil
}

// checkpoint returns the latest published checkpoint, verified.
func (l *Guarded) checkpoint(ctx context.Context) (*f_log.Checkpoint, error) {
	raw, err := l.reader.ReadCheckpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	return l.parseCheckpoint(raw)
}

// parseCheckpoint verifies and parses a signed checkpoint, remembering the
// last one.
func (l *Guarded) parseCheckpoint(raw []byte) (*f_log.Checkpoint, error) {
	if last := l.lastCP.Load(); last != nil && bytes.Equal(last.raw, raw) {
		return last.cp, nil
	}
	cp, err := l.guard.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("checkpoint does not verify with the log's key: %v: %w", err, ErrIntegrity)
	}
	l.lastCP.Store(newParsedCheckpoint(raw, cp))
	return cp, nil
}

// Failure returns the integrity failure the guard found, or nil. It reads
// nothing: call it before each append.
func (l *Guarded) Failure() error { return l.guard.Failure() }

// Health is [Log.Health] for a guarded log.
func (l *Guarded) Health(ctx context.Context) error { return l.health.Health(ctx) }

// Ready is [Log.Ready] for a guarded log.
func (l *Guarded) Ready(ctx context.Context) error { return l.health.Ready(ctx) }

// IntegrityFailures is [Log.IntegrityFailures] for a guarded log.
func (l *Guarded) IntegrityFailures() uint64 { return l.guard.Failures() }

// Close waits until every sequenced entry is integrated and committed to
// by a published checkpoint (bounded by ctx; not at all after an integrity
// failure, when no checkpoint will come), then stops the background work.
func (l *Guarded) Close(ctx context.Context) error {
	l.closeOnce.Do(func() {
		if err := l.guard.Failure(); err != nil {
			ctx = expired(ctx)
			l.closeErr = fmt.Errorf("entries not yet in a checkpoint are abandoned: %w", err)
		}
		if err := l.shutdown(ctx); err != nil && l.closeErr == nil {
			l.closeErr = err
		}
		l.cancel()
	})
	return l.closeErr
}
