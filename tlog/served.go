package tlog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"sync"

	"github.com/signetproject/signet/tlog/internal/tiles"
	f_log "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/tessera/api/layout"
)

// servedCacheSize is how many verified tiles and bundles a log remembers.
const servedCacheSize = 1 << 16

// served checks the tiles and entry bundles a log serves against its
// latest checkpoint before they leave, so that a damaged file (a truncated
// full tile, a flipped byte) is never served, least of all as immutable.
// A resource at a given path never changes, so each is checked once: the
// SHA-256 of what was checked is remembered, and later reads need only
// hash what they read.
type served struct {
	prover  *tiles.Prover
	tiles   tiles.TileFetcher
	bundles tiles.BundleFetcher
	leaves  LeafHashes

	mu        sync.Mutex
	cur, prev map[servedKey][sha256.Size]byte // two generations: a cheap LRU
}

// servedKey names a tile (level ≥ 0) or an entry bundle (level -1) of a
// given partial width (0: full).
type servedKey struct {
	level int64
	index uint64
	width uint8
}

func newServed(p *tiles.Prover, tiles tiles.TileFetcher, bundles tiles.BundleFetcher, leaves LeafHashes) *served {
	return &served{prover: p, tiles: tiles, bundles: bundles, leaves: leaves, cur: map[servedKey][sha256.Size]byte{}, prev: map[servedKey][sha256.Size]byte{}}
}

// known reports whether data was checked before for key.
func (s *served) known(key servedKey, data []byte) bool {
	sum := sha256.Sum256(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.cur[key]
	if !ok {
		if d, ok = s.prev[key]; ok {
			s.cur[key] = d
		}
	}
	return ok && d == sum
}

func (s *served) remember(key servedKey, data []byte) {
	sum := sha256.Sum256(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cur) >= servedCacheSize {
		s.prev, s.cur = s.cur, make(map[servedKey][sha256.Size]byte, servedCacheSize)
	}
	s.cur[key] = sum
}

// inTree checks that the resource of width p (0: full) at index on a tile
// level is part of the tree cp commits to.
func inTree(level, index uint64, p uint8, cp *f_log.Checkpoint) error {
	nodes := cp.Size >> (layout.TileHeight * level) // complete nodes at the tile's base
	var have uint64                                 // of them in this tile
	if first := index * layout.TileWidth; index < nodes/layout.TileWidth+1 && first < nodes {
		have = min(nodes-first, layout.TileWidth)
	}
	if have == 0 || uint64(tiles.WidthOrFull(p)) > have {
		return fmt.Errorf("beyond the latest checkpoint (tree size %d): %w", cp.Size, os.ErrNotExist)
	}
	return nil
}

// tile returns the hash tile at level and index of width p (0: full),
// checked against cp.
func (s *served) tile(ctx context.Context, cp *f_log.Checkpoint, level, index uint64, p uint8) ([]byte, error) {
	if level >= 8 {
		return nil, fmt.Errorf("tile level %d: %w", level, os.ErrNotExist)
	}
	if err := inTree(level, index, p, cp); err != nil {
		return nil, err
	}
	raw, err := s.tiles(ctx, level, index, p)
	if err != nil {
		return nil, err
	}
	n := tiles.WidthOrFull(p)
	if len(raw) < n*sha256.Size || len(raw)%sha256.Size != 0 {
		return nil, fmt.Errorf("stored tile holds %d bytes, want %d hashes of %d: %w", len(raw), n, sha256.Size, ErrIntegrity)
	}
	data := raw[:n*sha256.Size]
	key := servedKey{int64(level), index, p}
	if s.known(key, data) {
		return data, nil
	}
	hashes := make([][]byte, n)
	for i := range hashes {
		hashes[i] = data[i*sha256.Size : (i+1)*sha256.Size]
	}
	root, err := s.prover.SpanRoot(ctx, uint(level*layout.TileHeight), index*layout.TileWidth, hashes, cp.Size)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(root, cp.Hash) {
		return nil, fmt.Errorf("stored tile does not match the checkpoint of tree size %d: %w", cp.Size, ErrIntegrity)
	}
	s.remember(key, data)
	return data, nil
}

// bundle returns the entry bundle at index of width p (0: full), checked
// against cp.
func (s *served) bundle(ctx context.Context, cp *f_log.Checkpoint, index uint64, p uint8) ([]byte, error) {
	if err := inTree(0, index, p, cp); err != nil {
		return nil, err
	}
	raw, err := s.bundles(ctx, index, p)
	if err != nil {
		return nil, err
	}
	data, hashes, err := s.leaves(raw, tiles.WidthOrFull(p))
	if err != nil {
		return nil, fmt.Errorf("stored entry bundle: %v: %w", err, ErrIntegrity)
	}
	key := servedKey{-1, index, p}
	if s.known(key, data) {
		return data, nil
	}
	root, err := s.prover.SpanRoot(ctx, 0, index*layout.EntryBundleWidth, hashes, cp.Size)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(root, cp.Hash) {
		return nil, fmt.Errorf("stored entry bundle does not match the checkpoint of tree size %d: %w", cp.Size, ErrIntegrity)
	}
	s.remember(key, data)
	return data, nil
}
