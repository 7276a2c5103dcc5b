package tiles

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/signetproject/signet/tlog/storage"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"
)

// rangeFactory builds the compact ranges of RFC 6962 trees.
var rangeFactory = &compact.RangeFactory{Hash: hashChildren}

// hashChildren is rfc6962.DefaultHasher.HashChildren, hashing two SHA-256
// hashes without allocating a hash state: the guard hashes the leaves of
// every new entry bundle up to the root before it signs a checkpoint.
func hashChildren(l, r []byte) []byte {
	if len(l) != sha256.Size || len(r) != sha256.Size {
		return rfc6962.DefaultHasher.HashChildren(l, r)
	}
	var node [1 + 2*sha256.Size]byte // 0x01 || left || right
	node[0] = 1
	copy(node[1:], l)
	copy(node[1+sha256.Size:], r)
	h := sha256.Sum256(node[:])
	return h[:]
}

// BundleFetcher reads an entry bundle as Tessera's LogReader.ReadEntryBundle
// does.
type BundleFetcher func(ctx context.Context, index uint64, p uint8) ([]byte, error)

// LeafHashes parses a log's entry bundle (a static-ct-api data tile, say):
// it returns the bytes of the bundle's first n entries and their RFC 6962
// leaf hashes, or an error if the bundle does not hold n well-formed
// entries. A bundle may hold more than n entries: Tessera's MySQL driver
// returns a bundle as stored, which may have grown past the width asked
// for.
type LeafHashes func(bundle []byte, n int) (data []byte, hashes [][]byte, err error)

// EntryBundleLeaves is [LeafHashes] for tlog-tiles entry bundles. The
// hashes share one allocation and one hash state: the guard hashes every
// new entry before it signs a checkpoint. FuzzEntryBundleLeaves checks it
// against a reader written apart from it and rfc6962's leaf hash.
func EntryBundleLeaves(raw []byte, n int) ([]byte, [][]byte, error) {
	if n < 0 {
		return nil, nil, fmt.Errorf("want %d entries", n)
	}
	var (
		flat   = make([]byte, n*sha256.Size)
		hashes = make([][]byte, n)
		h      = sha256.New()
		off    int
	)
	for i := range n {
		e, err := bundleEntry(raw, off, i, n)
		if err != nil {
			return nil, nil, err
		}
		h.Reset()
		h.Write([]byte{rfc6962.RFC6962LeafHashPrefix})
		h.Write(e)
		hashes[i] = h.Sum(flat[i*sha256.Size : i*sha256.Size : (i+1)*sha256.Size])
		off += 2 + len(e)
	}
	return raw[:off], hashes, nil
}

// Root returns the root hash of the tree of size leaves as the tiles give
// it.
func (p *Prover) Root(ctx context.Context, size uint64) ([]byte, error) {
	if size == 0 {
		return rfc6962.DefaultHasher.EmptyRoot(), nil
	}
	return p.SpanRoot(ctx, 0, 0, nil, size)
}

// SpanRoot returns the root hash of the tree of size leaves in which the
// nodes at tree level level, from index start on, are hashes, and every
// other node needed comes from the tiles. With a tile's own hashes, or an
// entry bundle's leaf hashes, it checks them against a checkpoint's root:
// by collision resistance, the result equals the root only if every hash
// given is the tree's.
func (p *Prover) SpanRoot(ctx context.Context, level uint, start uint64, hashes [][]byte, size uint64) ([]byte, error) {
	n := uint64(len(hashes))
	if level >= 64 || start > math.MaxUint64-n || (start+n) > size>>level {
		return nil, fmt.Errorf("span of %d nodes at level %d index %d lies outside the tree of %d", n, level, start, size)
	}
	// Nodes left of the span, at level or above, as one compact range
	// counted in nodes of the span's level.
	var ids []compact.NodeID
	ids = compact.RangeNodes(0, start, ids)
	left := make([][]byte, len(ids))
	for i, id := range ids {
		h, err := p.node(ctx, compact.NewNodeID(id.Level+level, id.Index), size)
		if err != nil {
			return nil, err
		}
		left[i] = h
	}
	r, err := rangeFactory.NewRange(0, start, left)
	if err != nil {
		return nil, err
	}
	for _, h := range hashes {
		if err := r.Append(h, nil); err != nil {
			return nil, err
		}
	}
	// The same range counted in leaves, then the nodes right of the span.
	end := (start + n) << level
	lr, err := rangeFactory.NewRange(0, end, r.Hashes())
	if err != nil {
		return nil, err
	}
	ids = compact.RangeNodes(end, size, ids[:0])
	right := make([][]byte, len(ids))
	for i, id := range ids {
		h, err := p.node(ctx, id, size)
		if err != nil {
			return nil, err
		}
		right[i] = h
	}
	rr, err := rangeFactory.NewRange(end, size, right)
	if err != nil {
		return nil, err
	}
	if err := lr.AppendRange(rr, nil); err != nil {
		return nil, err
	}
	return lr.GetRootHash(nil)
}

// CheckTree checks that the tiles and entry bundles hold the tree of size
// leaves with the given root, and that it extends the tree of oldSize
// leaves and root oldRoot (oldSize 0: no earlier tree): the root from the
// tiles, a consistency proof from the tiles, and the entry bundles of the
// leaves from oldSize on (with the whole bundle holding leaf oldSize, which
// Tessera rewrites when it appends). A disagreement wraps [storage.ErrIntegrity].
func (p *Prover) CheckTree(ctx context.Context, bundles BundleFetcher, leaves LeafHashes, oldSize uint64, oldRoot []byte, size uint64, root []byte) error {
	if size < oldSize {
		return fmt.Errorf("tree size %d is smaller than the %d of a checkpoint the log signed (rolled back?): %w", size, oldSize, storage.ErrIntegrity)
	}
	if len(root) != rfc6962.DefaultHasher.Size() {
		return fmt.Errorf("root hash of %d bytes for tree size %d: %w", len(root), size, storage.ErrIntegrity)
	}
	if size == oldSize && !bytes.Equal(oldRoot, root) {
		return fmt.Errorf("root %x for tree size %d differs from the %x the log signed: %w", root, size, oldRoot, storage.ErrIntegrity)
	}
	got, err := p.Root(ctx, size)
	if err != nil {
		return missingIsIntegrity(fmt.Errorf("root of tree size %d from the tiles: %w", size, err))
	}
	if !bytes.Equal(got, root) {
		return fmt.Errorf("the tiles give root %x for tree size %d, not %x: %w", got, size, root, storage.ErrIntegrity)
	}
	if oldSize > 0 && oldSize < size {
		hashes, err := p.Consistency(ctx, oldSize, size)
		if err != nil {
			return missingIsIntegrity(fmt.Errorf("consistency proof %d to %d: %w", oldSize, size, err))
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, oldSize, size, hashes, oldRoot, root); err != nil {
			return fmt.Errorf("tree size %d is not consistent with the checkpoint of size %d the log signed: %s: %w", size, oldSize, OneLine(err), storage.ErrIntegrity)
		}
	}
	// The bundles of the new leaves, starting with the whole bundle that
	// holds the first of them (or, for an unchanged tree, the last leaf):
	// Tessera reads that bundle back and rewrites it when it appends.
	first := oldSize
	if first == size && size > 0 {
		first = size - 1
	}
	for i := first / layout.EntryBundleWidth; i*layout.EntryBundleWidth < size; i++ {
		if err := p.checkBundle(ctx, bundles, leaves, i, size, root); err != nil {
			return err
		}
	}
	return nil
}

// checkBundle checks that the entry bundle at index holds the tree's leaves
// for the tree of size leaves and root.
func (p *Prover) checkBundle(ctx context.Context, bundles BundleFetcher, leaves LeafHashes, index, size uint64, root []byte) error {
	w := layout.PartialTileSize(0, index, size)
	path := layout.EntriesPath(index, w)
	raw, err := bundles(ctx, index, w)
	if err != nil {
		return missingIsIntegrity(fmt.Errorf("read entry bundle %s: %w", path, err))
	}
	_, hashes, err := leaves(raw, WidthOrFull(w))
	if err != nil {
		return fmt.Errorf("entry bundle %s: %v: %w", path, err, storage.ErrIntegrity)
	}
	got, err := p.SpanRoot(ctx, 0, index*layout.EntryBundleWidth, hashes, size)
	if err != nil {
		return missingIsIntegrity(fmt.Errorf("check entry bundle %s: %w", path, err))
	}
	if !bytes.Equal(got, root) {
		return fmt.Errorf("entry bundle %s does not hold the leaves of tree size %d (its leaves and the tiles give root %x, not %x): %w", path, size, got, root, storage.ErrIntegrity)
	}
	return nil
}

// WidthOrFull turns a partial width (0: full) into a number of entries.
func WidthOrFull(w uint8) int {
	if w == 0 {
		return layout.TileWidth
	}
	return int(w)
}

// missingIsIntegrity marks an error as an integrity failure when a tile or
// bundle the tree state implies does not exist: Tessera writes them before
// it records the tree state.
func missingIsIntegrity(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %w", err, storage.ErrIntegrity)
	}
	return err
}

// OneLine flattens a multi-line error message (the merkle package's root
// mismatch prints byte arrays over several lines).
func OneLine(err error) string {
	var rm proof.RootMismatchError
	if errors.As(err, &rm) {
		return fmt.Sprintf("calculated root %x, expected %x", rm.CalculatedRoot, rm.ExpectedRoot)
	}
	return string(bytes.Join(bytes.Fields([]byte(err.Error())), []byte(" ")))
}
