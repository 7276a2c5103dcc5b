// Package tiles reads a log's hash tiles and entry bundles: it builds
// inclusion and consistency proofs from them ([Prover]) and checks that
// they hold the tree a checkpoint commits to ([Prover.CheckTree]).
package tiles

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"math/bits"
	"sync"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
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

// tileNodes holds a tile's subtree hashes once computed: the tile's own
// width hashes (level 0), then the width/2 roots of the perfect subtrees
// over pairs of them (level 1), and so on up to a single root, all in one
// pointer-free slice that the garbage collector need not scan.
type tileNodes struct {
	ready  chan struct{} // closed when hashes or err is set
	width  int
	hashes []byte
	err    error
}

// node returns the hash at level and index inside the tile, or nil if the
// tile has no such node. The slice's capacity ends with the hash: an
// append to it does not write over the next one.
func (t *tileNodes) node(level uint, index uint64) []byte {
	off, n := 0, t.width
	for range level {
		off += n
		n >>= 1
	}
	if index >= uint64(n) {
		return nil
	}
	o := (off + int(index)) * sha256.Size
	return t.hashes[o : o+sha256.Size : o+sha256.Size]
}

// NewProver returns a prover reading hash tiles with fetch.
func NewProver(fetch TileFetcher) *Prover {
	return &Prover{fetch: fetch, cur: map[tileKey]*tileNodes{}, prev: map[tileKey]*tileNodes{}}
}

// Inclusion returns the inclusion proof of the leaf at index in the tree of
// the given size. It is proof.Inclusion's proof with the nodes looked up as
// [Prover.hashes] does, built without its allocations: appends prove every
// entry they return. FuzzInclusion checks that both agree.
//
// A tree of size leaves splits into perfect subtrees, one per bit set in
// size, largest first. The proof is, from the leaf up: the siblings along
// the leaf's path up to the root of the one of those subtrees that holds
// it (the fork); then the root of those right of it hashed together (the
// "ephemeral" node), if any; then those left of it, smallest first.
func (p *Prover) Inclusion(ctx context.Context, index, size uint64) ([][]byte, error) {
	if index >= size {
		return nil, fmt.Errorf("index %d out of bounds for tree size %d", index, size)
	}
	fork := uint(bits.Len64(index^size) - 1)
	begin := index >> fork << fork // the fork's leaves are [begin, end)
	end := begin + 1<<fork
	n := int(fork) + bits.OnesCount64(begin)
	if end < size {
		n++
	}
	hs := make([][]byte, 0, n)
	r := nodeReader{p: p, size: size}
	for level := range fork {
		h, err := r.node(ctx, level, index>>level^1)
		if err != nil {
			return nil, err
		}
		hs = append(hs, h)
	}
	if end < size {
		h, err := r.rangeRoot(ctx, end)
		if err != nil {
			return nil, err
		}
		hs = append(hs, h)
	}
	for rest := begin; rest != 0; rest &= rest - 1 {
		level := uint(bits.TrailingZeros64(rest))
		h, err := r.node(ctx, level, rest>>level-1)
		if err != nil {
			return nil, err
		}
		hs = append(hs, h)
	}
	return hs, nil
}

// inclusionGeneral is what Inclusion computes, through proof.Inclusion:
// FuzzInclusion compares the two.
func (p *Prover) inclusionGeneral(ctx context.Context, index, size uint64) ([][]byte, error) {
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, err
	}
	return p.hashes(ctx, nodes, size)
}

// nodeReader looks up nodes of the tree of one size, remembering the last
// tile it used: consecutive nodes of a proof mostly lie in one tile.
type nodeReader struct {
	p    *Prover
	size uint64
	key  tileKey
	t    *tileNodes
}

// node returns the hash of the perfect subtree at level and index.
func (r *nodeReader) node(ctx context.Context, level uint, index uint64) ([]byte, error) {
	tileLevel, tileIndex, nodeLevel, nodeIndex := layout.NodeCoordsToTileAddress(uint64(level), index)
	key := tileKey{tileLevel, tileIndex, layout.PartialTileSize(tileLevel, tileIndex, r.size)}
	if r.t == nil || key != r.key {
		t, err := r.p.tile(ctx, key)
		if err != nil {
			return nil, err
		}
		r.key, r.t = key, t
	}
	h := r.t.node(nodeLevel, nodeIndex)
	if h == nil {
		return nil, fmt.Errorf("tile %s has no node %d at level %d", layout.TilePath(key.level, key.index, key.width), nodeIndex, nodeLevel)
	}
	return h, nil
}

// rangeRoot returns the root hash of the leaves from start to the tree's
// end, where start is the end of a perfect subtree of at least as many
// leaves as remain after it: the perfect subtrees along the tree's right
// edge, one per bit set in size-start, hashed together from the right.
func (r *nodeReader) rangeRoot(ctx context.Context, start uint64) ([]byte, error) {
	var (
		root [sha256.Size]byte
		node [1 + 2*sha256.Size]byte // 0x01 || left || right
		have bool
	)
	node[0] = 1
	for rest := r.size - start; rest != 0; rest &= rest - 1 {
		level := uint(bits.TrailingZeros64(rest))
		// The subtree of this level on the right edge ends where the
		// smaller ones right of it begin: at r.size with the bits below
		// level cleared.
		h, err := r.node(ctx, level, r.size>>level-1)
		if err != nil {
			return nil, err
		}
		if !have {
			if rest&(rest-1) == 0 {
				return h, nil // a single perfect subtree
			}
			copy(root[:], h)
			have = true
			continue
		}
		copy(node[1:], h)
		copy(node[1+sha256.Size:], root[:])
		root = sha256.Sum256(node[:])
	}
	return root[:], nil
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
	r := nodeReader{p: p, size: size}
	return r.node(ctx, id.Level, id.Index)
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
		t.width, t.hashes, t.err = p.compute(context.WithoutCancel(ctx), key)
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

// compute reads a tile and hashes all its perfect subtrees, as
// [tileNodes] lays them out.
func (p *Prover) compute(ctx context.Context, key tileKey) (int, []byte, error) {
	path := layout.TilePath(key.level, key.index, key.width)
	raw, err := p.fetch(ctx, key.level, key.index, key.width)
	if err != nil {
		return 0, nil, fmt.Errorf("read tile %s: %w", path, err)
	}
	if len(raw)%sha256.Size != 0 {
		return 0, nil, fmt.Errorf("parse tile %s: %d bytes is not a multiple of %d", path, len(raw), sha256.Size)
	}
	want := WidthOrFull(key.width)
	// Some drivers (Tessera's MySQL one) return the tile as stored, which
	// may have grown past the width asked for; tiles only ever grow, so the
	// first hashes are the ones wanted.
	if have := len(raw) / sha256.Size; have < want {
		return 0, nil, fmt.Errorf("tile %s holds %d hashes, want %d", path, have, want)
	}
	total := 0
	for n := want; n > 0; n >>= 1 {
		total += n
	}
	hashes := make([]byte, total*sha256.Size)
	copy(hashes, raw[:want*sha256.Size])
	var node [1 + 2*sha256.Size]byte // 0x01 || left || right
	node[0] = 1
	below, up := 0, want // offsets, in hashes, of a level and the next
	for n := want; n >= 2; n >>= 1 {
		for i := range n / 2 {
			copy(node[1:], hashes[(below+2*i)*sha256.Size:(below+2*i+2)*sha256.Size])
			h := sha256.Sum256(node[:])
			copy(hashes[(up+i)*sha256.Size:], h[:])
		}
		below, up = up, up+n/2
	}
	return want, hashes, nil
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
