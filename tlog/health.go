package tlog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	f_log "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/tessera"
)

// minPublicationStall is the shortest time integrated entries may wait for
// a checkpoint before a log reports itself not ready.
const minPublicationStall = 10 * time.Second

// healthProbe answers a log's liveness and readiness questions.
type healthProbe struct {
	guard  *guard
	reader tessera.LogReader
	parse  func([]byte) (*f_log.Checkpoint, error)
	stall  time.Duration // how long publication may lag integration
	// canSign reports whether the checkpoint key signs; nil: it signs a
	// probe message with the guard's signer.
	canSign func() error
	now     func() time.Time

	mu       sync.Mutex
	lagSize  uint64    // published size when integration was first seen ahead
	lagSince time.Time // zero when publication has caught up
}

func newHealthProbe(g *guard, reader tessera.LogReader, parse func([]byte) (*f_log.Checkpoint, error), interval time.Duration) *healthProbe {
	return &healthProbe{guard: g, reader: reader, parse: parse, stall: max(20*interval, minPublicationStall), now: time.Now}
}

// health is nil unless the guard found an integrity failure or the
// published checkpoint does not verify; both wrap [ErrIntegrity].
func (h *healthProbe) health(ctx context.Context) error {
	if err := h.guard.health(); err != nil {
		return err
	}
	_, err := h.published(ctx)
	return err
}

// published returns the verified published checkpoint; before the first
// one it is nil.
func (h *healthProbe) published(ctx context.Context) (*f_log.Checkpoint, error) {
	raw, err := h.reader.ReadCheckpoint(ctx)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read published checkpoint: %w", err)
	}
	cp, err := h.parse(raw)
	if err != nil {
		// Tessera cannot publish over it: the log is wedged until an
		// operator repairs it (see guard.open).
		return nil, h.guard.fail(fmt.Errorf("%s: published checkpoint: %w", h.guard.record.Where(), err)) // wraps ErrIntegrity
	}
	return cp, nil
}

// ready is nil when the log can append: it is healthy, its key signs, and
// integrated entries get a checkpoint within the stall time.
func (h *healthProbe) ready(ctx context.Context) error {
	if err := h.guard.health(); err != nil {
		return err
	}
	cp, err := h.published(ctx)
	if err != nil {
		return err
	}
	if err := h.signs(); err != nil {
		return fmt.Errorf("checkpoint key cannot sign: %w", err)
	}
	integrated, err := h.reader.IntegratedSize(ctx)
	if err != nil {
		return fmt.Errorf("read integrated tree size: %w", err)
	}
	var published uint64
	if cp != nil {
		published = cp.Size
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if integrated <= published {
		h.lagSince = time.Time{}
		return nil
	}
	now := h.now()
	if h.lagSince.IsZero() || published != h.lagSize {
		h.lagSize, h.lagSince = published, now
		return nil
	}
	if d := now.Sub(h.lagSince); d > h.stall {
		return fmt.Errorf("no checkpoint published for %s: %d entries integrated, the published checkpoint commits to %d", d.Round(time.Second), integrated, published)
	}
	return nil
}

// signs reports whether the checkpoint key can sign.
func (h *healthProbe) signs() error {
	if h.canSign != nil {
		return h.canSign()
	}
	_, err := h.guard.signer.Sign([]byte("signet readiness probe: not a checkpoint\n"))
	return err
}

// Health returns nil while the log is sound, or an error wrapping
// [ErrIntegrity] once the log found stored state that disagrees with a
// checkpoint it signed (it then refuses to sign and append until repaired
// and restarted), or when its published checkpoint does not verify. A
// server answers its liveness probe with it.
func (l *Log) Health(ctx context.Context) error { return l.health.health(ctx) }

// Ready returns nil when the log can append: it is healthy, its key can
// sign, and integrated entries are committed to by a published checkpoint
// within a bounded time. A server answers its readiness probe with it.
func (l *Log) Ready(ctx context.Context) error { return l.health.ready(ctx) }

// IntegrityFailures counts the integrity failures the log found, for a
// metric.
func (l *Log) IntegrityFailures() uint64 { return l.guard.failures.Load() }

// Health is [Log.Health] for the Rekor v1 log.
func (l *V1Log) Health(ctx context.Context) error { return l.health.health(ctx) }

// Ready is [Log.Ready] for the Rekor v1 log.
func (l *V1Log) Ready(ctx context.Context) error { return l.health.ready(ctx) }

// IntegrityFailures is [Log.IntegrityFailures] for the Rekor v1 log.
func (l *V1Log) IntegrityFailures() uint64 { return l.guard.failures.Load() }
