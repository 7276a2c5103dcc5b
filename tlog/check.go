package tlog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/signetproject/signet/tlog/internal/guard"
	"github.com/signetproject/signet/tlog/internal/tiles"
	"github.com/signetproject/signet/tlog/storage"
	f_log "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
	"golang.org/x/mod/sumdb/note"
)

// LogSource reads a log's tlog-tiles resources, as Tessera's client
// fetchers and log readers do: from a directory ([NewDirSource]) or over
// HTTP (Tessera's client.NewHTTPFetcher).
type LogSource interface {
	ReadCheckpoint(ctx context.Context) ([]byte, error)
	ReadTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error)
	ReadEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error)
}

// TreeRoot is a tree size and root hash that something (a signed
// checkpoint, Tessera's tree state) claims for a log.
type TreeRoot struct {
	Source string // what claims it, for messages
	Size   uint64
	Hash   []byte
}

// CheckReport is what [CheckLog] checked.
type CheckReport struct {
	// Checkpoint is the verified checkpoint the log was checked against.
	Checkpoint *f_log.Checkpoint
	// Size is the number of entries checked (the largest size claimed).
	Size uint64
	// Bundles and Tiles count the resources checked.
	Bundles, Tiles int
	// Problems lists every disagreement found, one line each, up to
	// maxProblems; empty when the log is sound.
	Problems []string
}

// maxProblems bounds the problems a check reports.
const maxProblems = 100

// ErrCheckFailed is returned by [CheckLog] when it found problems; the
// report lists them.
var ErrCheckFailed = errors.New("the log's stored data is not what its checkpoint commits to")

// CheckLog checks a log from scratch: the checkpoint verifies under
// origin with one of verifiers (a log's key, and the keys it rotated out); every entry bundle holds exactly the entries its
// width says, well formed; every hash tile, full or partial, holds exactly
// the hashes the entries give; and the root the entries give equals the
// checkpoint's, and each of the extra roots' at its size (the log
// directory's signed-checkpoint record and tree state, see
// [CheckLogDir]). It reads every bundle and tile once, in order. The error
// is ErrCheckFailed when it found problems, or why it could not check.
func CheckLog(ctx context.Context, src LogSource, origin string, verifiers []note.Verifier, extra ...TreeRoot) (*CheckReport, error) {
	raw, err := src.ReadCheckpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint: %w", err)
	}
	cp, err := guard.ParseSignedBy(raw, origin, verifiers)
	if err != nil {
		return nil, fmt.Errorf("checkpoint does not verify: %v: %w", err, ErrIntegrity)
	}
	rep := &CheckReport{Checkpoint: cp, Size: cp.Size}
	roots := append([]TreeRoot{{Source: "checkpoint", Size: cp.Size, Hash: cp.Hash}}, extra...)
	for _, r := range roots {
		rep.Size = max(rep.Size, r.Size)
	}
	c := &checker{src: src, rep: rep, open: map[uint64]*openTile{}}
	if err := c.run(ctx, roots); err != nil {
		return rep, err
	}
	if len(rep.Problems) > 0 {
		return rep, ErrCheckFailed
	}
	return rep, nil
}

// checker streams a log's leaves into a compact range and compares what
// it derives with the stored resources.
type checker struct {
	src  LogSource
	rep  *CheckReport
	open map[uint64]*openTile // tile level → the tile being filled
}

// openTile is a hash tile being rebuilt from the leaves.
type openTile struct {
	index uint64
	nodes [][]byte
}

func (c *checker) problem(format string, args ...any) {
	if len(c.rep.Problems) < maxProblems {
		c.rep.Problems = append(c.rep.Problems, fmt.Sprintf(format, args...))
	} else if len(c.rep.Problems) == maxProblems {
		c.rep.Problems = append(c.rep.Problems, "… (more problems not listed)")
	}
}

func (c *checker) run(ctx context.Context, roots []TreeRoot) error {
	// The entries are read once, in the bundles of the largest tree any
	// root claims; at each size a root claims, the root, the partial tiles
	// and the partial entry bundle of that size are compared too: clients
	// of a checkpoint of that size read them.
	size := c.rep.Size
	sizes := map[uint64]bool{}
	for _, r := range roots {
		sizes[r.Size] = true
	}
	r := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0)
	var bundle [][]byte // leaf hashes of the current bundle so far
	atSize := func() {
		end := r.End()
		for _, root := range roots {
			if root.Size != end {
				continue
			}
			got := rfc6962.DefaultHasher.EmptyRoot()
			if end > 0 {
				got, _ = r.GetRootHash(nil)
			}
			if !bytes.Equal(got, root.Hash) {
				c.problem("root of tree size %d: the entries give %x, the %s says %x", end, got, root.Source, root.Hash)
			}
		}
		if end == size {
			return // the end of the stream flushes everything below
		}
		for level, t := range c.open {
			if len(t.nodes) > 0 && len(t.nodes) < layout.TileWidth {
				c.compareTile(ctx, level, t)
			}
		}
		if w := uint8(end % layout.EntryBundleWidth); w > 0 {
			c.comparePartialBundle(ctx, end/layout.EntryBundleWidth, w, bundle)
		}
	}
	if sizes[0] {
		atSize()
	}
	for index := uint64(0); index*layout.EntryBundleWidth < size; index++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(c.rep.Problems) > maxProblems {
			return nil // enough said: a tree size far beyond the entries, say
		}
		w := layout.PartialTileSize(0, index, size)
		path := layout.EntriesPath(index, w)
		hashes, err := c.bundle(ctx, index, w)
		if err != nil {
			return err
		}
		if hashes[0] == nil {
			// Missing or unreadable: the entries of a smaller claimed tree
			// may still be there, in its partial bundle.
			c.fillFromPartial(ctx, index, hashes, sizes)
		}
		c.rep.Bundles++
		bundle = bundle[:0]
		for i, h := range hashes {
			if h == nil {
				// An entry missing or unreadable: stand in a hash no entry
				// has, so later tiles are still compared with something.
				h = make([]byte, sha256.Size)
			}
			bundle = append(bundle, h)
			if err := r.Append(h, c.visit(ctx)); err != nil {
				return fmt.Errorf("%s entry %d: %w", path, i, err)
			}
			if sizes[r.End()] {
				atSize()
			}
		}
	}
	// The partial tiles at the right edge.
	for level, t := range c.open {
		if len(t.nodes) > 0 {
			c.compareTile(ctx, level, t)
		}
	}
	return nil
}

// fillFromPartial fills the leaf hashes of the bundle at index from the
// largest partial bundle of a claimed tree size that ends in it.
func (c *checker) fillFromPartial(ctx context.Context, index uint64, hashes [][]byte, sizes map[uint64]bool) {
	best := uint8(0)
	for s := range sizes {
		if s/layout.EntryBundleWidth == index {
			best = max(best, uint8(s%layout.EntryBundleWidth))
		}
	}
	if best == 0 {
		return
	}
	raw, err := c.src.ReadEntryBundle(ctx, index, best)
	if err != nil {
		return
	}
	var b api.EntryBundle
	if b.UnmarshalText(raw) != nil {
		return
	}
	for i := range min(len(b.Entries), int(best), len(hashes)) {
		hashes[i] = rfc6962.DefaultHasher.HashLeaf(b.Entries[i])
	}
}

// comparePartialBundle compares the stored partial entry bundle at index of
// width w with the leaf hashes read from the larger bundle.
func (c *checker) comparePartialBundle(ctx context.Context, index uint64, w uint8, want [][]byte) {
	got, err := c.bundle(ctx, index, w)
	if err != nil {
		c.problem("entry bundle %s: %v", layout.EntriesPath(index, w), tiles.OneLine(err))
		return
	}
	c.rep.Bundles++
	for i := range got {
		if got[i] != nil && !bytes.Equal(got[i], want[i]) {
			c.problem("entry bundle %s: entry %d differs from the one in the larger bundle", layout.EntriesPath(index, w), i)
			return
		}
	}
}

// bundle reads and parses the entry bundle at index of width w and returns
// its leaf hashes (nil for missing entries), reporting what is wrong.
func (c *checker) bundle(ctx context.Context, index uint64, w uint8) ([][]byte, error) {
	n := tiles.WidthOrFull(w)
	hashes := make([][]byte, n)
	path := layout.EntriesPath(index, w)
	raw, err := c.src.ReadEntryBundle(ctx, index, w)
	if errors.Is(err, os.ErrNotExist) {
		c.problem("entry bundle %s is missing", path)
		return hashes, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read entry bundle %s: %w", path, err)
	}
	var b api.EntryBundle
	if err := b.UnmarshalText(raw); err != nil {
		c.problem("entry bundle %s: %v", path, err)
	}
	if len(b.Entries) != n {
		c.problem("entry bundle %s holds %d entries, want %d", path, len(b.Entries), n)
	}
	for i := range min(n, len(b.Entries)) {
		hashes[i] = rfc6962.DefaultHasher.HashLeaf(b.Entries[i])
	}
	return hashes, nil
}

// visit collects the tile-level nodes the compact range completes and
// compares each tile once it is full.
func (c *checker) visit(ctx context.Context) compact.VisitFn {
	return func(id compact.NodeID, h []byte) {
		if id.Level%layout.TileHeight != 0 {
			return
		}
		level := uint64(id.Level / layout.TileHeight)
		index := id.Index / layout.TileWidth
		t := c.open[level]
		if t == nil || t.index != index {
			t = &openTile{index: index}
			c.open[level] = t
		}
		t.nodes = append(t.nodes, h)
		if len(t.nodes) == layout.TileWidth {
			c.compareTile(ctx, level, t)
			delete(c.open, level)
		}
	}
}

// compareTile compares the stored tile with the one rebuilt.
func (c *checker) compareTile(ctx context.Context, level uint64, t *openTile) {
	c.rep.Tiles++
	w := uint8(len(t.nodes) % layout.TileWidth)
	path := layout.TilePath(level, t.index, w)
	raw, err := c.src.ReadTile(ctx, level, t.index, w)
	if err != nil {
		c.problem("tile %s: %v", path, tiles.OneLine(err))
		return
	}
	if len(raw) != len(t.nodes)*sha256.Size {
		c.problem("tile %s holds %d bytes, want %d (%d hashes)", path, len(raw), len(t.nodes)*sha256.Size, len(t.nodes))
		return
	}
	for i, want := range t.nodes {
		if got := raw[i*sha256.Size : (i+1)*sha256.Size]; !bytes.Equal(got, want) {
			c.problem("tile %s: hash %d is %x, the entries give %x", path, i, got, want)
			return
		}
	}
}

// dirSource reads a POSIX log directory's files exactly as named: unlike
// Tessera's reader, a missing partial tile is not replaced by a full one.
type dirSource struct{ dir string }

// NewDirSource returns a [LogSource] reading the log kept in dir by
// [storage.NewPOSIX].
func NewDirSource(dir string) LogSource { return dirSource{dir} }

func (d dirSource) ReadCheckpoint(context.Context) ([]byte, error) {
	return os.ReadFile(filepath.Join(d.dir, layout.CheckpointPath))
}

func (d dirSource) ReadTile(_ context.Context, level, index uint64, p uint8) ([]byte, error) {
	return os.ReadFile(filepath.Join(d.dir, layout.TilePath(level, index, p)))
}

func (d dirSource) ReadEntryBundle(_ context.Context, index uint64, p uint8) ([]byte, error) {
	return os.ReadFile(filepath.Join(d.dir, layout.EntriesPath(index, p)))
}

// CheckLogDir checks the Rekor v2 log kept in dir (a server's
// <data-dir>/log) with [CheckLog], against pub, the Ed25519 public key of
// the log, under the origin its checkpoint names. It also checks the
// signed-checkpoint record and Tessera's tree state kept there, and the
// entries integrated beyond the published checkpoint.
func CheckLogDir(ctx context.Context, dir string, pub ed25519.PublicKey, retired ...ed25519.PublicKey) (*CheckReport, error) {
	return CheckStored(ctx, storage.POSIXRecord(dir), NewDirSource(dir), v2Verifier(pub, retired))
}

// CheckLogMySQL is [CheckLogDir] for the Rekor v2 log kept in the MySQL
// database at url (a server's --log-storage).
func CheckLogMySQL(ctx context.Context, url string, pub ed25519.PublicKey, retired ...ed25519.PublicKey) (*CheckReport, error) {
	d, db, err := storage.NewMySQL(ctx, url)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	src, err := storage.DirectReader(d)
	if err != nil {
		return nil, err
	}
	return CheckStored(ctx, d, src, v2Verifier(pub, retired))
}

// CheckLogAWS is [CheckLogDir] for the Rekor v2 log kept on Tessera's AWS
// driver (a server's --log-storage and --log-objects, see
// [storage.NewAWS]).
func CheckLogAWS(ctx context.Context, url, objects string, pub ed25519.PublicKey, retired ...ed25519.PublicKey) (*CheckReport, error) {
	d, db, err := storage.NewAWS(ctx, url, objects)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	src, err := storage.DirectReader(d)
	if err != nil {
		return nil, err
	}
	return CheckStored(ctx, d, src, v2Verifier(pub, retired))
}

// v2Verifier makes the checkpoint verifiers of a Rekor v2 log with key pub
// and retired keys for the origin its checkpoint names.
func v2Verifier(pub ed25519.PublicKey, retired []ed25519.PublicKey) func(origin string) ([]note.Verifier, error) {
	return func(origin string) ([]note.Verifier, error) {
		var vs []note.Verifier
		for _, k := range append([]ed25519.PublicKey{pub}, retired...) {
			v, err := CheckpointVerifier(origin, k)
			if err != nil {
				return nil, err
			}
			vs = append(vs, v)
		}
		return vs, nil
	}
}

// CheckStored runs CheckLog on a log's storage, with its signed-checkpoint
// record and Tessera's tree state as extra roots.
func CheckStored(ctx context.Context, rec storage.Record, src LogSource, verifier func(origin string) ([]note.Verifier, error)) (*CheckReport, error) {
	raw, err := src.ReadCheckpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: read checkpoint: %w", rec.Where(), err)
	}
	origin, _, _ := strings.Cut(string(raw), "\n")
	v, err := verifier(origin)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rec.Where(), err)
	}
	var extra []TreeRoot
	var problems []string
	signed, err := rec.LoadSigned(ctx)
	if err != nil {
		return nil, err
	}
	if signed != nil {
		if cp, err := guard.ParseSignedBy(signed, origin, v); err != nil {
			problems = append(problems, fmt.Sprintf("the signed-checkpoint record does not verify: %v", err))
		} else {
			extra = append(extra, TreeRoot{Source: "signed-checkpoint record", Size: cp.Size, Hash: cp.Hash})
		}
	}
	size, root, err := rec.TreeState(ctx)
	if err != nil {
		problems = append(problems, tiles.OneLine(err))
	} else {
		extra = append(extra, TreeRoot{Source: "tree state", Size: size, Hash: root})
	}
	rep, err := CheckLog(ctx, src, origin, v, extra...)
	if err != nil && !errors.Is(err, ErrCheckFailed) {
		return rep, fmt.Errorf("%s: %w", rec.Where(), err)
	}
	if len(problems) > 0 {
		rep.Problems = append(problems, rep.Problems...)
		err = ErrCheckFailed
	}
	return rep, err
}

// CheckpointVerifier returns the signed-note verifier of a Rekor v2 log's
// checkpoints: origin is the hostname of its base URL, pub its key (as
// trusted_root.json lists them).
func CheckpointVerifier(origin string, pub ed25519.PublicKey) (note.Verifier, error) {
	v, _, err := newNoteVerifier(origin, pub)
	return v, err
}
