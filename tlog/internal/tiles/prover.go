// Package tiles reads a log's hash tiles and entry bundles: it builds
// inclusion and consistency proofs from them ([Prover]) and checks that
// they hold the tree a checkpoint commits to ([Prover.CheckTree]).
package tiles

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"sync"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
)

// proverCacheTiles is how many hash tiles a prover keeps. A tile and the
// subtree hashes computed from it take about 16 KiB, so the cache holds at
// most about 2 × 16 MiB. Appends prove against the newest tiles, which stay
// cached; old entries' proofs read their tiles again.
const proverCacheTiles = 1024

// TileFetcher reads a hash tile as Tessera's LogReader.ReadTile does.
type TileFetcher func(ctx context.Context, level, index uint64, p uint8) ([]byte, error)

// Prover builds RFC 6962 inclusion and consistency proofs from a log's hash
// tiles. It does what Tessera's client.ProofBuilder does, but is safe for
// concurrent use and shares its work between requests: every proof node is
// the root of a perfect subtree inside one tile, and a tile of a given width
// never changes, so each (tile, width) is read and hashed once and then
// serves every proof that touches it. The hundreds of appends integrated in
// one batch all prove against the same new right-hand tiles.
type Prover struct {
	fetch TileFetcher

	mu        sync.Mutex
	cur, prev map[tileKey]*tileNodes // two generations: a cheap LRU
}

// tileKey names one version of a tile: a partial tile of width w is a
// different, equally immutable object from the full tile it grows into.
type tileKey struct {
	level, index uint64
	width        uint8 // 0 for a full tile, as in tile paths
}

// tileNodes holds a tile's subtree hashes once computed: levels[0] are the
// tile's own hashes, levels[k][i] is the root of the perfect subtree over
// levels[0][i<<k : (i+1)<<k].
type tileNodes struct {
	ready  chan struct{} // closed when levels or err is set
	levels [][][]byte
	err    error
}

// NewProver returns a prover reading hash tiles with fetch.
func NewProver(fetch TileFetcher) *Prover {
	return &Prover{fetch: fetch, cur: map[tileKey]*tileNodes{}, prev: map[tileKey]*tileNodes{}}
}

// Inclusion returns the inclusion proof of the leaf at index in the tree of
// the given size.
func (p *Prover) Inclusion(ctx context.Context, index, size uint64) ([][]byte, error) {
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, err
	}
	return p.hashes(ctx, nodes, size)
}

// Consistency returns the consistency proof between the trees of sizes
// smaller and larger.
func (p *Prover) Consistency(ctx context.Context, smaller, larger uint64) ([][]byte, error) {
	nodes, err := proof.Consistency(smaller, larger)
	if err != nil {
		return nil, err
	}
	return p.hashes(ctx, nodes, larger)
}

// hashes looks up the nodes of a proof in the tree of the given size and
// folds the ephemeral part as the proof needs it.
func (p *Prover) hashes(ctx context.Context, nodes proof.Nodes, size uint64) ([][]byte, error) {
	hs := make([][]byte, 0, len(nodes.IDs))
	for _, id := range nodes.IDs {
		h, err := p.node(ctx, id, size)
		if err != nil {
			return nil, err
		}
		hs = append(hs, h)
	}
	return nodes.Rehash(hs, rfc6962.DefaultHasher.HashChildren)
}

// node returns the hash of the perfect subtree id in the tree of the given
// size.
func (p *Prover) node(ctx context.Context, id compact.NodeID, size uint64) ([]byte, error) {
	tileLevel, tileIndex, nodeLevel, nodeIndex := layout.NodeCoordsToTileAddress(uint64(id.Level), id.Index)
	key := tileKey{tileLevel, tileIndex, layout.PartialTileSize(tileLevel, tileIndex, size)}
	t, err := p.tile(ctx, key)
	if err != nil {
		return nil, err
	}
	if int(nodeLevel) >= len(t.levels) || nodeIndex >= uint64(len(t.levels[nodeLevel])) {
		return nil, fmt.Errorf("tile %s has no node %d at level %d", layout.TilePath(key.level, key.index, key.width), nodeIndex, nodeLevel)
	}
	return t.levels[nodeLevel][nodeIndex], nil
}

// tile returns the computed nodes of a tile, reading and hashing it at most
// once however many callers ask at the same time. A failed read is not
// cached.
func (p *Prover) tile(ctx context.Context, key tileKey) (*tileNodes, error) {
	p.mu.Lock()
	t, ok := p.cur[key]
	if !ok {
		if t, ok = p.prev[key]; ok {
			p.cur[key] = t
		}
	}
	if !ok {
		t = &tileNodes{ready: make(chan struct{})}
		if len(p.cur) >= proverCacheTiles {
			p.prev, p.cur = p.cur, make(map[tileKey]*tileNodes, proverCacheTiles)
		}
		p.cur[key] = t
	}
	p.mu.Unlock()

	if !ok {
		// Other requests wait for this read: one client giving up must
		// not fail them.
		t.levels, t.err = p.compute(context.WithoutCancel(ctx), key)
		close(t.ready)
		if t.err != nil {
			p.mu.Lock()
			if p.cur[key] == t {
				delete(p.cur, key)
			}
			p.mu.Unlock()
		}
	}
	select {
	case <-t.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if t.err != nil {
		return nil, t.err
	}
	return t, nil
}

// compute reads a tile and hashes all its perfect subtrees.
func (p *Prover) compute(ctx context.Context, key tileKey) ([][][]byte, error) {
	raw, err := p.fetch(ctx, key.level, key.index, key.width)
	if err != nil {
		return nil, fmt.Errorf("read tile %s: %w", layout.TilePath(key.level, key.index, key.width), err)
	}
	var tile api.HashTile
	if err := tile.UnmarshalText(raw); err != nil {
		return nil, fmt.Errorf("parse tile %s: %w", layout.TilePath(key.level, key.index, key.width), err)
	}
	want := int(key.width)
	if want == 0 {
		want = layout.TileWidth
	}
	// Some drivers (Tessera's MySQL one) return the tile as stored, which
	// may have grown past the width asked for; tiles only ever grow, so the
	// first hashes are the ones wanted.
	if len(tile.Nodes) < want {
		return nil, fmt.Errorf("tile %s holds %d hashes, want %d", layout.TilePath(key.level, key.index, key.width), len(tile.Nodes), want)
	}
	levels := [][][]byte{tile.Nodes[:want]}
	for below := levels[0]; len(below) >= 2; {
		up := make([][]byte, len(below)/2)
		for i := range up {
			up[i] = rfc6962.DefaultHasher.HashChildren(below[2*i], below[2*i+1])
		}
		levels = append(levels, up)
		below = up
	}
	return levels, nil
}

// VerifyInclusion checks that proof proves the leaf with leafHash at index
// in the tree of the given size with root hash root, by the algorithm of
// RFC 9162 section 2.1.3.2. It is proof.VerifyInclusion without its
// allocations: appends check every proof they return, and the hashes
// allocated there were a good part of an append's garbage.
// FuzzVerifyInclusion checks that both agree.
func VerifyInclusion(index, size uint64, leafHash []byte, proof [][]byte, root []byte) error {
	if index >= size {
		return fmt.Errorf("index %d is beyond tree size %d", index, size)
	}
	if len(leafHash) != sha256.Size {
		return fmt.Errorf("leaf hash of %d bytes", len(leafHash))
	}
	var node [1 + 2*sha256.Size]byte // 0x01 || left || right
	node[0] = 1
	r := [sha256.Size]byte(leafHash)
	fn, sn := index, size-1
	for i, p := range proof {
		if len(p) != sha256.Size {
			return fmt.Errorf("proof hash %d has %d bytes", i, len(p))
		}
		if sn == 0 {
			return fmt.Errorf("proof of %d hashes is too long for index %d in tree size %d", len(proof), index, size)
		}
		if fn&1 == 1 || fn == sn {
			copy(node[1:], p)
			copy(node[1+sha256.Size:], r[:])
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			copy(node[1:], r[:])
			copy(node[1+sha256.Size:], p)
		}
		r = sha256.Sum256(node[:])
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return fmt.Errorf("proof of %d hashes is too short for index %d in tree size %d", len(proof), index, size)
	}
	if !bytes.Equal(r[:], root) {
		return fmt.Errorf("proof gives root %x, want %x", r, root)
	}
	return nil
}

// DropCache forgets the tiles the prover cached, so that the next proofs
// read them from storage again.
func (p *Prover) DropCache() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cur, p.prev = map[tileKey]*tileNodes{}, map[tileKey]*tileNodes{}
}
