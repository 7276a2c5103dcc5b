package guard

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

// Probe answers a log's liveness and readiness questions.
type Probe struct {
	guard  *Guard
	reader tessera.LogReader
	parse  func([]byte) (*f_log.Checkpoint, error)
	stall  time.Duration // how long publication may lag integration
	// CanSign reports whether the checkpoint key signs; nil: it signs a
	// probe message with the guard's signer.
	CanSign func() error
	now     func() time.Time

	mu       sync.Mutex
	lagSize  uint64    // published size when integration was first seen ahead
	lagSince time.Time // zero when publication has caught up
}

func NewProbe(g *Guard, reader tessera.LogReader, parse func([]byte) (*f_log.Checkpoint, error), interval time.Duration) *Probe {
	return &Probe{guard: g, reader: reader, parse: parse, stall: max(20*interval, minPublicationStall), now: time.Now}
}

// Failure is nil unless the guard found an integrity failure or the
// published checkpoint does not verify; both wrap [storage.ErrIntegrity].
func (h *Probe) Health(ctx context.Context) error {
	if err := h.guard.Failure(); err != nil {
		return err
	}
	_, err := h.Published(ctx)
	return err
}

// published returns the verified published checkpoint; before the first
// one it is nil.
func (h *Probe) Published(ctx context.Context) (*f_log.Checkpoint, error) {
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
		return nil, h.guard.Fail(fmt.Errorf("%s: published checkpoint: %w", h.guard.record.Where(), err)) // wraps storage.ErrIntegrity
	}
	return cp, nil
}

// ready is nil when the log can append: it is healthy, its key signs, and
// integrated entries get a checkpoint within the stall time.
func (h *Probe) Ready(ctx context.Context) error {
	if err := h.guard.Failure(); err != nil {
		return err
	}
	cp, err := h.Published(ctx)
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
func (h *Probe) signs() error {
	if h.CanSign != nil {
		return h.CanSign()
	}
	_, err := h.guard.signer.Sign([]byte("signet readiness probe: not a checkpoint\n"))
	return err
}
