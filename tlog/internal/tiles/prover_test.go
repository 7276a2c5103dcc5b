package tiles

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/crypto/cryptobyte"
)

// memTree serves the hash tiles of a tree of leaves built in memory, the
// way a Tessera log lays them out.
type memTree struct {
	levels [][][]byte // levels[k] are the perfect subtree roots at tree level k
	reads  atomic.Int64
}

func newMemTree(n int) *memTree {
	t := &memTree{}
	leaves := make([][]byte, n)
	for i := range leaves {
		leaves[i] = rfc6962.DefaultHasher.HashLeaf(fmt.Appendf(nil, "leaf %d", i))
	}
	t.levels = append(t.levels, leaves)
	for below := leaves; len(below) >= 2; {
		up := make([][]byte, len(below)/2)
		for i := range up {
			up[i] = rfc6962.DefaultHasher.HashChildren(below[2*i], below[2*i+1])
		}
		t.levels = append(t.levels, up)
		below = up
	}
	return t
}

// fetch returns tile (level, index) of width p (0: full) of the tree of
// the given size.
func (t *memTree) fetcher(size uint64) TileFetcher {
	return func(_ context.Context, level, index uint64, p uint8) ([]byte, error) {
		t.reads.Add(1)
		if want := layout.PartialTileSize(level, index, size); p != want {
			return nil, fmt.Errorf("tile %d/%d asked with width %d, tree of %d has %d", level, index, p, size, want)
		}
		w := uint64(p)
		if w == 0 {
			w = layout.TileWidth
		}
		row := t.levels[level*layout.TileHeight]
		start := index * layout.TileWidth
		if start+w > uint64(len(row)) {
			return nil, errors.New("tile beyond the tree")
		}
		return (&api.HashTile{Nodes: row[start : start+w]}).MarshalText()
	}
}

func (t *memTree) root(size uint64) []byte {
	r := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0)
	for _, l := range t.levels[0][:size] {
		if err := r.Append(l, nil); err != nil {
			panic(err)
		}
	}
	h, err := r.GetRootHash(nil)
	if err != nil {
		panic(err)
	}
	return h
}

// TestProverAgreesWithTessera checks the prover's inclusion and consistency
// proofs verify and equal those of Tessera's own client.ProofBuilder, for
// trees spanning three tile levels, full and partial tiles.
func TestProverAgreesWithTessera(t *testing.T) {
	const n = 256*256 + 300
	tree := newMemTree(n)
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	sizes := []uint64{1, 2, 255, 256, 257, 511, 512, 65535, 65536, 65537, n}
	for range 20 {
		sizes = append(sizes, 1+rng.Uint64N(n))
	}
	for _, size := range sizes {
		root := tree.root(size)
		p := NewProver(tree.fetcher(size))
		pb, err := client.NewProofBuilder(ctx, size, client.TileFetcherFunc(tree.fetcher(size)))
		if err != nil {
			t.Fatal(err)
		}
		indexes := []uint64{0, size - 1, size / 2}
		for range 10 {
			indexes = append(indexes, rng.Uint64N(size))
		}
		for _, i := range indexes {
			got, err := p.Inclusion(ctx, i, size)
			if err != nil {
				t.Fatalf("inclusion(%d, %d): %v", i, size, err)
			}
			want, err := pb.InclusionProof(ctx, i)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got, want, slices.Equal) {
				t.Errorf("inclusion(%d, %d) differs from Tessera's", i, size)
			}
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, i, size, tree.levels[0][i], got, root); err != nil {
				t.Errorf("inclusion(%d, %d): %v", i, size, err)
			}
		}
		for range 5 {
			smaller := 1 + rng.Uint64N(size)
			got, err := p.Consistency(ctx, smaller, size)
			if err != nil {
				t.Fatalf("consistency(%d, %d): %v", smaller, size, err)
			}
			want, err := pb.ConsistencyProof(ctx, smaller, size)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got, want, slices.Equal) {
				t.Errorf("consistency(%d, %d) differs from Tessera's", smaller, size)
			}
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, smaller, size, got, tree.root(smaller), root); err != nil {
				t.Errorf("consistency(%d, %d): %v", smaller, size, err)
			}
		}
	}
}

// TestProverSharesTiles checks that concurrent proofs in one tree read each
// tile once, and that a failed read is retried rather than cached.
func TestProverSharesTiles(t *testing.T) {
	const size = 256*3 + 17
	tree := newMemTree(size)
	p := NewProver(tree.fetcher(size))
	var wg sync.WaitGroup
	for i := range uint64(size) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := p.Inclusion(context.Background(), i, size); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// Tiles 0/0, 0/1, 0/2, 0/3.p/17 and 1/0.p/3.
	if got := tree.reads.Load(); got != 5 {
		t.Errorf("%d tile reads for %d proofs, want 5", got, size)
	}

	fail := true
	flaky := NewProver(func(ctx context.Context, level, index uint64, w uint8) ([]byte, error) {
		if fail {
			return nil, errors.New("disk on fire")
		}
		return tree.fetcher(size)(ctx, level, index, w)
	})
	if _, err := flaky.Inclusion(context.Background(), 3, size); err == nil {
		t.Fatal("inclusion with failing tile reads succeeded")
	}
	fail = false
	if _, err := flaky.Inclusion(context.Background(), 3, size); err != nil {
		t.Errorf("failed read was cached: %v", err)
	}
}

// TestProverRejectsShortTile checks a tile with fewer hashes than its
// width is an error, not an index panic or a wrong proof.
func TestProverRejectsShortTile(t *testing.T) {
	tree := newMemTree(300)
	p := NewProver(func(ctx context.Context, level, index uint64, w uint8) ([]byte, error) {
		return (&api.HashTile{Nodes: tree.levels[0][:10]}).MarshalText()
	})
	if _, err := p.Inclusion(context.Background(), 5, 300); err == nil {
		t.Fatal("short tile accepted")
	}
}

// TestProverLongerTile checks a tile that has grown past the width asked
// for, as Tessera's MySQL driver returns it, gives the proof for the
// smaller tree.
func TestProverLongerTile(t *testing.T) {
	const size = 20
	tree := newMemTree(300)
	p := NewProver(func(ctx context.Context, level, index uint64, w uint8) ([]byte, error) {
		return (&api.HashTile{Nodes: tree.levels[0][:256]}).MarshalText()
	})
	for i := range uint64(size) {
		hs, err := p.Inclusion(context.Background(), i, size)
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, i, size, tree.levels[0][i], hs, tree.root(size)); err != nil {
			t.Errorf("inclusion(%d, %d): %v", i, size, err)
		}
	}
}

// FuzzVerifyInclusion checks VerifyInclusion against
// proof.VerifyInclusion on proofs from a reference tree, as given and with
// one change (index, size, root, a hash, or the proof's length).
func FuzzVerifyInclusion(f *testing.F) {
	f.Add(uint8(1), uint8(0), uint8(0), uint8(0))
	f.Add(uint8(7), uint8(6), uint8(0), uint8(0)) // the last leaf of an unbalanced tree
	f.Add(uint8(200), uint8(77), uint8(0), uint8(0))
	f.Add(uint8(7), uint8(6), uint8(1), uint8(3))
	f.Add(uint8(64), uint8(31), uint8(5), uint8(0))
	f.Add(uint8(200), uint8(199), uint8(4), uint8(2))
	f.Fuzz(func(t *testing.T, size, index, mutation, at uint8) {
		if size == 0 {
			return
		}
		tree := testonly.New(rfc6962.DefaultHasher)
		for i := range int(size) {
			tree.AppendData(fmt.Appendf(nil, "leaf %d", i))
		}
		idx, sz := uint64(index), uint64(size)
		leaf := rfc6962.DefaultHasher.HashLeaf(fmt.Appendf(nil, "leaf %d", index))
		hashes, err := tree.InclusionProof(idx%sz, sz)
		if err != nil {
			t.Fatal(err)
		}
		root := tree.Hash()
		switch mutation % 6 {
		case 1:
			idx++
		case 2:
			sz++
		case 3:
			root = rfc6962.DefaultHasher.HashLeaf(root)
		case 4:
			if len(hashes) > 0 {
				hashes[int(at)%len(hashes)] = rfc6962.DefaultHasher.HashLeaf(nil)
			}
		case 5:
			if int(at)%2 == 0 && len(hashes) > 0 {
				hashes = hashes[:len(hashes)-1]
			} else {
				hashes = append(hashes, leaf)
			}
		}
		want := proof.VerifyInclusion(rfc6962.DefaultHasher, idx, sz, leaf, hashes, root)
		got := VerifyInclusion(idx, sz, leaf, hashes, root)
		if (got == nil) != (want == nil) {
			t.Fatalf("index %d size %d mutation %d: VerifyInclusion = %v, proof.VerifyInclusion = %v", idx, sz, mutation%6, got, want)
		}
		if mutation%6 == 0 && index < size && got != nil {
			t.Fatalf("valid proof of %d in %d rejected: %v", idx, sz, got)
		}
	})
}

// fuzzTree is the reference tree of FuzzInclusion: three tile levels,
// with partial tiles on each.
var fuzzTree = sync.OnceValue(func() *memTree { return newMemTree(256*256 + 300) })

// FuzzInclusion checks Inclusion against inclusionGeneral, proof.Inclusion
// with the same tiles, for any leaf of any tree size up to three tile
// levels, and that the proof verifies.
func FuzzInclusion(f *testing.F) {
	for _, c := range [][2]uint32{{1, 0}, {2, 1}, {7, 3}, {8, 3}, {256, 255}, {257, 256}, {300, 17}, {65536, 65535}, {65537, 65536}, {65836, 300}, {65836, 65835}, {65791, 65535}} {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, size, index uint32) {
		tree := fuzzTree()
		n := uint64(size) % uint64(len(tree.levels[0])+1)
		if n == 0 {
			return
		}
		i := uint64(index) % n
		p := NewProver(tree.fetcher(n))
		got, err := p.Inclusion(context.Background(), i, n)
		if err != nil {
			t.Fatalf("Inclusion(%d, %d): %v", i, n, err)
		}
		want, err := NewProver(tree.fetcher(n)).inclusionGeneral(context.Background(), i, n)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("Inclusion(%d, %d) = %x, proof.Inclusion gives %x", i, n, got, want)
		}
		if err := VerifyInclusion(i, n, tree.levels[0][i], got, tree.root(n)); err != nil {
			t.Fatalf("Inclusion(%d, %d): %v", i, n, err)
		}
		// An index outside the tree is refused before any tile is read.
		reads := tree.reads.Load()
		if _, err := NewProver(tree.fetcher(n)).Inclusion(context.Background(), n+uint64(index%3), n); err == nil {
			t.Fatalf("Inclusion(%d, %d) of a leaf beyond the tree succeeded", n+uint64(index%3), n)
		}
		if tree.reads.Load() != reads {
			t.Fatalf("Inclusion(%d, %d) of a leaf beyond the tree read tiles", n+uint64(index%3), n)
		}
	})
}

// TestProverRejectsBadTile checks a stored tile that is not whole hashes
// is an error.
func TestProverRejectsBadTile(t *testing.T) {
	tree := newMemTree(300)
	p := NewProver(func(ctx context.Context, level, index uint64, w uint8) ([]byte, error) {
		raw, err := tree.fetcher(300)(ctx, level, index, w)
		return append(raw, 0), err
	})
	if _, err := p.Inclusion(context.Background(), 5, 300); err == nil {
		t.Fatal("a tile of 32n+1 bytes accepted")
	}
}

// entryBundleLeavesGeneral is what EntryBundleLeaves computes, written
// independently of it: entries read with cryptobyte, hashed with rfc6962.
func entryBundleLeavesGeneral(raw []byte, n int) ([]byte, [][]byte, error) {
	s := cryptobyte.String(raw)
	hashes := make([][]byte, 0, n)
	for i := range n {
		var e cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&e) {
			return nil, nil, fmt.Errorf("entry %d of %d is cut off", i, n)
		}
		hashes = append(hashes, rfc6962.DefaultHasher.HashLeaf(e))
	}
	return raw[:len(raw)-len(s)], hashes, nil
}

// FuzzEntryBundleLeaves checks EntryBundleLeaves against
// entryBundleLeavesGeneral: the same bundle prefix and hashes, or an
// error from both.
func FuzzEntryBundleLeaves(f *testing.F) {
	var bundle []byte
	for i := range 5 {
		e := fmt.Appendf(nil, "entry %d", i)
		bundle = append(bundle, 0, byte(len(e)))
		bundle = append(bundle, e...)
	}
	f.Add(bundle, 5)
	f.Add(bundle, 3)
	f.Add(bundle, 6)
	f.Add(bundle[:len(bundle)-1], 5)
	f.Add(bundle, 0)
	f.Add(bundle, -1)
	f.Add([]byte{0, 0, 0}, 1)
	f.Add([]byte{0, 0, 0}, 2)
	f.Fuzz(func(t *testing.T, raw []byte, n int) {
		n %= 300
		data, hashes, err := EntryBundleLeaves(raw, n)
		if n < 0 {
			if err == nil {
				t.Fatalf("EntryBundleLeaves(%x, %d) succeeded", raw, n)
			}
			return
		}
		wantData, wantHashes, wantErr := entryBundleLeavesGeneral(raw, n)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("EntryBundleLeaves(%x, %d): error %v, general path %v", raw, n, err, wantErr)
		}
		if err != nil {
			return
		}
		if len(data) != len(wantData) || !slices.Equal(data, wantData) || !slices.EqualFunc(hashes, wantHashes, slices.Equal) {
			t.Fatalf("EntryBundleLeaves(%x, %d) = %x %x, general path %x %x", raw, n, data, hashes, wantData, wantHashes)
		}
		for _, h := range hashes {
			if cap(h) != len(h) {
				t.Fatalf("hash of capacity %d: an append to it writes over the next", cap(h))
			}
		}
	})
}

// TestHashChildren checks hashChildren against rfc6962's, for hashes and
// for inputs of other lengths.
func TestHashChildren(t *testing.T) {
	h := rfc6962.DefaultHasher.HashLeaf([]byte("a"))
	for _, c := range [][2][]byte{{h, h}, {h, nil}, {nil, h}, {h[:31], h}, {h, append(h[:32:32], 1)}, {nil, nil}} {
		if got, want := hashChildren(c[0], c[1]), rfc6962.DefaultHasher.HashChildren(c[0], c[1]); !slices.Equal(got, want) {
			t.Errorf("hashChildren(%x, %x) = %x, want %x", c[0], c[1], got, want)
		}
	}
}
