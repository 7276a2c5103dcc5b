package tlog

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/signetproject/signet/tlog/internal/guard"
	"github.com/signetproject/signet/tlog/internal/tiles"
	rekorv1 "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	f_log "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
)

// ReadCheckpoint returns the latest published signed checkpoint, the body of
// the tlog-tiles /checkpoint resource. Before the first checkpoint is
// published the error wraps os.ErrNotExist (404).
func (l *Log) ReadCheckpoint(ctx context.Context) ([]byte, error) {
	cp, err := l.reader.ReadCheckpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	return cp, nil
}

// ReadTile returns the hash tile at level and index, the body of the
// tlog-tiles /tile/<L>/<N>[.p/<W>] resource; p is the partial width W, or 0
// for a full tile. Parse the request path with Tessera's
// layout.ParseTileLevelIndexPartial. The tile is checked against the
// latest checkpoint before it is returned: a tile the checkpoint does not
// commit to is missing (its error wraps os.ErrNotExist, 404), and one whose
// size or hashes are wrong is an error wrapping [ErrIntegrity].
func (l *Log) ReadTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
	cp, _, err := l.Checkpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("read tile %s: %w", layout.TilePath(level, index, p), err)
	}
	t, err := l.served.tile(ctx, cp, level, index, p)
	if err != nil {
		return nil, fmt.Errorf("read tile %s: %w", layout.TilePath(level, index, p), err)
	}
	return t, nil
}

// ReadEntryBundle returns the entry bundle at index, the body of the
// tlog-tiles /tile/entries/<N>[.p/<W>] resource; p is the partial width, or
// 0 for a full bundle. It is checked against the latest checkpoint as
// [Log.ReadTile] checks tiles.
func (l *Log) ReadEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error) {
	cp, _, err := l.Checkpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("read entry bundle %s: %w", layout.EntriesPath(index, p), err)
	}
	b, err := l.served.bundle(ctx, cp, index, p)
	if err != nil {
		return nil, fmt.Errorf("read entry bundle %s: %w", layout.EntriesPath(index, p), err)
	}
	return b, nil
}

// Checkpoint returns the latest published checkpoint, parsed and verified
// with the log's key, and its signed-note form.
func (l *Log) Checkpoint(ctx context.Context) (*f_log.Checkpoint, []byte, error) {
	raw, err := l.ReadCheckpoint(ctx)
	if err != nil {
		return nil, nil, err
	}
	cp, err := l.parseCheckpoint(raw)
	if err != nil {
		return nil, nil, err
	}
	return cp, raw, nil
}

// parseCheckpoint verifies and parses a signed checkpoint. The last two
// are remembered ([checkpointCache]): every append integrated in a batch
// waits for the same checkpoint, and verifying its signature once is
// enough.
func (l *Log) parseCheckpoint(raw []byte) (*f_log.Checkpoint, error) {
	p, err := l.verifiedCheckpoint(raw)
	if err != nil {
		return nil, err
	}
	return p.cp, nil
}

// verifiedCheckpoint is parseCheckpoint, with the checkpoint's forms.
func (l *Log) verifiedCheckpoint(raw []byte) (*parsedCheckpoint, error) {
	if p := l.checkpoints.get(raw); p != nil {
		return p, nil
	}
	cp, err := guard.ParseSignedBy(raw, l.origin, l.verifiers)
	if err != nil {
		return nil, fmt.Errorf("verify checkpoint: %v: %w", err, ErrIntegrity)
	}
	if err := checkInt64(cp.Size); err != nil {
		return nil, fmt.Errorf("checkpoint size: %w", err)
	}
	p := newParsedCheckpoint(raw, cp)
	l.checkpoints.put(p)
	return p, nil
}

// checkpointCache remembers the last two signed checkpoints verified.
// Appends woken by one checkpoint may still be proving against it when the
// next is published, and the batches' appends alternating between the two
// must not verify each signature again.
type checkpointCache struct {
	last, prev atomic.Pointer[parsedCheckpoint]
}

// get returns the checkpoint verified from exactly raw, or nil.
func (c *checkpointCache) get(raw []byte) *parsedCheckpoint {
	if p := c.last.Load(); p != nil && bytes.Equal(p.raw, raw) {
		return p
	}
	if p := c.prev.Load(); p != nil && bytes.Equal(p.raw, raw) {
		return p
	}
	return nil
}

// put remembers p as the last checkpoint verified. Concurrent puts may
// lose one: it is verified again when next asked for.
func (c *checkpointCache) put(p *parsedCheckpoint) {
	c.prev.Store(c.last.Swap(p))
}

// parsedCheckpoint is a signed checkpoint and what it verified to.
type parsedCheckpoint struct {
	raw      []byte
	envelope string // raw, as the inclusion proofs of a batch share it
	cp       *f_log.Checkpoint
}

func newParsedCheckpoint(raw []byte, cp *f_log.Checkpoint) *parsedCheckpoint {
	return &parsedCheckpoint{raw: bytes.Clone(raw), envelope: string(raw), cp: cp}
}

// InclusionProof returns the RFC 6962 inclusion proof of the entry at index in
// the tree of size treeSize, read from the log's tiles.
func (l *Log) InclusionProof(ctx context.Context, index, treeSize uint64) ([][]byte, error) {
	p, err := l.prover.Inclusion(ctx, index, treeSize)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof for %d in tree of %d: %w", index, treeSize, err)
	}
	return p, nil
}

// ConsistencyProof returns the RFC 6962 consistency proof between the trees of
// sizes smaller and larger, read from the log's tiles.
func (l *Log) ConsistencyProof(ctx context.Context, smaller, larger uint64) ([][]byte, error) {
	p, err := l.prover.Consistency(ctx, smaller, larger)
	if err != nil {
		return nil, fmt.Errorf("consistency proof %d to %d: %w", smaller, larger, err)
	}
	return p, nil
}

// inclusionProofAt proves the leaf with leafHash at index against the
// signed checkpoint cpRaw and checks the proof before returning it.
func (l *Log) inclusionProofAt(ctx context.Context, index uint64, leafHash, cpRaw []byte) (*rekorv1.InclusionProof, error) {
	p, err := l.verifiedCheckpoint(cpRaw)
	if err != nil {
		return nil, err
	}
	cp := p.cp
	if index >= cp.Size {
		return nil, fmt.Errorf("checkpoint of size %d does not commit to index %d", cp.Size, index)
	}
	hashes, err := l.InclusionProof(ctx, index, cp.Size)
	if err != nil {
		return nil, err
	}
	if err := tiles.VerifyInclusion(index, cp.Size, leafHash, hashes, cp.Hash); err != nil {
		return nil, fmt.Errorf("verify inclusion proof for %d: %w", index, err)
	}
	return &rekorv1.InclusionProof{
		LogIndex:   int64(index), // index < cp.Size, which parseCheckpoint bounds
		RootHash:   cp.Hash,
		TreeSize:   int64(cp.Size),
		Hashes:     hashes,
		Checkpoint: &rekorv1.Checkpoint{Envelope: p.envelope},
	}, nil
}

// EntryAt returns the entry at index with an inclusion proof against the
// latest checkpoint, in the form [Log.Append] returns it. An index beyond the
// latest checkpoint's tree gives an error wrapping os.ErrNotExist.
func (l *Log) EntryAt(ctx context.Context, index uint64) (*rekorv1.TransparencyLogEntry, error) {
	cp, raw, err := l.Checkpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("entry %d: %w", index, err)
	}
	if index >= cp.Size {
		return nil, fmt.Errorf("entry %d beyond tree size %d: %w", index, cp.Size, os.ErrNotExist)
	}
	bundle, err := client.GetEntryBundle(ctx, l.reader.ReadEntryBundle, index/layout.EntryBundleWidth, cp.Size)
	if err != nil {
		return nil, fmt.Errorf("entry %d: %w", index, err)
	}
	i := index % layout.EntryBundleWidth
	if i >= uint64(len(bundle.Entries)) {
		return nil, fmt.Errorf("entry %d: bundle holds %d entries", index, len(bundle.Entries))
	}
	body := bundle.Entries[i]
	entry, err := ParseEntry(body)
	if err != nil {
		return nil, fmt.Errorf("entry %d: %w", index, err)
	}
	p, err := l.inclusionProofAt(ctx, index, rfc6962.DefaultHasher.HashLeaf(body), raw)
	if err != nil {
		return nil, fmt.Errorf("entry %d: %w", index, err)
	}
	return l.logEntry(index, KindVersion(entry), body, p), nil
}
