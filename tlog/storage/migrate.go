package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api/layout"
	"golang.org/x/sync/errgroup"
)

// ErrTargetNotEmpty is returned by [MigrateToAWS] when the object store
// and database it should copy a log into already hold one.
var ErrTargetNotEmpty = errors.New("the target already holds a log")

// CTEntriesPath names the entry bundles (data tiles) of a static-ct-api
// log, as Tessera's CT layout does: pass it to [MigrateToAWS] for a
// certificate transparency log.
func CTEntriesPath(n uint64, p uint8) string {
	return "tile/data/" + layout.NWithSuffix(0, n, p)
}

// MigrateReport says what [MigrateToAWS] copied.
type MigrateReport struct {
	// Size is the tree size copied: the published checkpoint's.
	Size uint64
	// Bundles and Tiles count the objects copied besides the checkpoint.
	Bundles, Tiles int
}

// MigrateMySQLToAWS copies the log Tessera's MySQL driver keeps in the
// database dbURL names plus dbSuffix ([NewMySQL], [NewMySQLSuffix]) into
// Tessera's AWS driver on the same database and the object store objects
// plus "/"+sub ([NewAWS], [NewAWSSuffix]); see [MigrateToAWS].
func MigrateMySQLToAWS(ctx context.Context, dbURL, dbSuffix, objects, sub string, entriesPath func(uint64, uint8) string) (*MigrateReport, error) {
	cfg, err := ParseMySQLURL(dbURL)
	if err != nil {
		return nil, err
	}
	loc, err := ParseS3URL(objects)
	if err != nil {
		return nil, err
	}
	if sub != "" {
		loc = loc.Sub(sub)
	}
	db, err := openLogDB(ctx, cfg, dbSuffix)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	src, err := newMySQLOn(ctx, db) // a moved log is refused as a non-empty target
	if err != nil {
		return nil, err
	}
	dsn := cfg.Clone()
	dsn.DBName += dbSuffix
	dst, err := openAWS(ctx, db, dsn, loc, false)
	if err != nil {
		return nil, err
	}
	return MigrateToAWS(ctx, src, dst, entriesPath)
}

// MigrateToAWS copies the log Tessera's MySQL driver keeps in src
// ([NewMySQL]) into dst ([NewAWS]), which must be empty: its published
// checkpoint, every entry bundle and hash tile of its tree (under their
// tlog-tiles names; entry bundles named by entriesPath, nil for the
// tlog-tiles layout, [CTEntriesPath] for a CT log), and the AWS driver's
// coordination tables set to the copied tree. Every object is read back
// and compared with the source before the tables are set, and the source
// is checked not to have changed meanwhile; it is only read. The
// signed-checkpoint record stays where it is when src and dst share their
// database (as they do for one --log-storage URL), else it is copied.
//
// The source must be at rest: every server on it stopped, its published
// checkpoint covering every integrated entry (a clean stop ensures it).
// Check the copy from scratch afterwards (`signet log verify`).
func MigrateToAWS(ctx context.Context, src, dst Driver, entriesPath func(uint64, uint8) string) (*MigrateReport, error) {
	from, ok := src.(*mysqlDriver)
	if !ok {
		return nil, fmt.Errorf("migrate: the source %s is not kept by Tessera's MySQL driver", src.Where())
	}
	to, ok := dst.(*awsDriver)
	if !ok {
		return nil, fmt.Errorf("migrate: the target %s is not Tessera's AWS driver", dst.Where())
	}
	if entriesPath == nil {
		entriesPath = layout.EntriesPath
	}
	reader, ok := from.inner.(Reader)
	if !ok {
		return nil, fmt.Errorf("migrate: %s cannot be read directly", src.Where())
	}
	if err := to.checkEmpty(ctx); err != nil {
		return nil, err
	}
	cp, size, root, err := restingState(ctx, from, reader)
	if err != nil {
		return nil, err
	}
	rep := &MigrateReport{Size: size}
	if cp == nil {
		return rep, nil // no log yet: the AWS driver starts one
	}
	objects, err := sourceObjects(ctx, reader, size, entriesPath)
	if err != nil {
		return nil, fmt.Errorf("migrate: read %s: %w", src.Where(), err)
	}
	for _, o := range objects {
		if o.tile {
			rep.Tiles++
		} else {
			rep.Bundles++
		}
	}
	if err := copyObjects(ctx, to.objects, objects); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	// The copy is of the tree as it was when the copy began.
	cp2, size2, root2, err := restingState(ctx, from, reader)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(cp, cp2) || size != size2 || !bytes.Equal(root, root2) {
		return nil, fmt.Errorf("migrate: the source log changed during the copy (tree size %d, now %d): stop every server on it and run the migration again", size, size2)
	}
	if err := to.initTables(ctx); err != nil {
		return nil, err
	}
	if from.db != to.db {
		if signed, err := from.LoadSigned(ctx); err != nil {
			return nil, err
		} else if signed != nil {
			if err := to.StoreSigned(ctx, signed); err != nil {
				return nil, err
			}
		}
	}
	if err := to.setTree(ctx, size, root); err != nil {
		return nil, err
	}
	if err := to.objects.put(ctx, layout.CheckpointPath, cp); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if got, err := to.objects.get(ctx, layout.CheckpointPath); err != nil || !bytes.Equal(got, cp) {
		return nil, fmt.Errorf("migrate: the checkpoint read back from %s is not the one written (%v)", to.objects.loc, err)
	}
	return rep, nil
}

// restingState returns the source's published checkpoint (nil for a log
// that never published one), its tree size and root, after checking that
// the tree state is the checkpoint's.
func restingState(ctx context.Context, d *mysqlDriver, r Reader) (cp []byte, size uint64, root []byte, err error) {
	cp, err = r.ReadCheckpoint(ctx)
	if errors.Is(err, os.ErrNotExist) {
		size, _, err := d.TreeState(ctx)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("migrate: %s: %w", d.Where(), err)
		}
		if size > 0 {
			return nil, 0, nil, fmt.Errorf("migrate: %s holds %d entries but no published checkpoint: start a server on it once so that it publishes one, stop it, and run the migration again", d.Where(), size)
		}
		return nil, 0, nil, nil
	}
	if err != nil {
		return nil, 0, nil, fmt.Errorf("migrate: %s: read checkpoint: %w", d.Where(), err)
	}
	cpSize, cpRoot, err := checkpointTree(cp)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("migrate: %s: %v: %w", d.Where(), err, ErrIntegrity)
	}
	size, root, err = d.TreeState(ctx)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("migrate: %s: %w", d.Where(), err)
	}
	switch {
	case size != cpSize:
		return nil, 0, nil, fmt.Errorf("migrate: %s integrated %d entries but its published checkpoint covers %d: start a server on it once so that it publishes them, stop it, and run the migration again", d.Where(), size, cpSize)
	case !bytes.Equal(root, cpRoot):
		return nil, 0, nil, fmt.Errorf("migrate: %s: the tree state's root %x is not the published checkpoint's %x for tree size %d: %w", d.Where(), root, cpRoot, size, ErrIntegrity)
	}
	return cp, size, root, nil
}

// checkpointTree reads the tree size and root hash of a checkpoint without
// checking its signature.
func checkpointTree(cp []byte) (uint64, []byte, error) {
	size, err := CheckpointSize(cp)
	if err != nil {
		return 0, nil, err
	}
	lines := bytes.SplitN(cp, []byte{'\n'}, 4)
	if len(lines) < 4 {
		return 0, nil, fmt.Errorf("checkpoint %.80q has no root hash line", cp)
	}
	root, err := base64.StdEncoding.DecodeString(string(lines[2]))
	if err != nil || len(root) != sha256.Size {
		return 0, nil, fmt.Errorf("checkpoint root hash %.60q is not a base64 SHA-256 hash", lines[2])
	}
	return size, root, nil
}

// object is one of a log's objects to copy.
type object struct {
	name string
	data []byte
	tile bool
}

// sourceObjects reads every entry bundle and hash tile of the tree of the
// given size. Tessera's MySQL driver keeps one version of each, which at
// rest is the one of the integrated tree.
func sourceObjects(ctx context.Context, r Reader, size uint64, entriesPath func(uint64, uint8) string) ([]object, error) {
	var objects []object
	for i := uint64(0); i*layout.EntryBundleWidth < size; i++ {
		p := layout.PartialTileSize(0, i, size)
		b, err := r.ReadEntryBundle(ctx, i, p)
		if err != nil {
			return nil, fmt.Errorf("entry bundle %s: %w", entriesPath(i, p), missingIsIntegrity(err))
		}
		objects = append(objects, object{name: entriesPath(i, p), data: b})
	}
	for level := uint64(0); size>>(level*layout.TileHeight) > 0; level++ {
		nodes := size >> (level * layout.TileHeight)
		for i := uint64(0); i*layout.TileWidth < nodes; i++ {
			p := layout.PartialTileSize(level, i, size)
			name := layout.TilePath(level, i, p)
			t, err := r.ReadTile(ctx, level, i, p)
			if err != nil {
				return nil, fmt.Errorf("tile %s: %w", name, missingIsIntegrity(err))
			}
			want := int(p) * sha256.Size
			if p == 0 {
				want = layout.TileWidth * sha256.Size
			}
			if len(t) != want {
				return nil, fmt.Errorf("tile %s holds %d bytes, want %d: %w", name, len(t), want, ErrIntegrity)
			}
			objects = append(objects, object{name: name, data: t, tile: true})
		}
	}
	return objects, nil
}

// missingIsIntegrity makes a resource of the tree missing from its storage
// an integrity failure.
func missingIsIntegrity(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("the source is missing it (%v): %w", err, ErrIntegrity)
	}
	return err
}

// copyObjects writes objects to o, then reads each back and compares it.
func copyObjects(ctx context.Context, o *s3Objects, objects []object) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	var mu sync.Mutex
	var bad []string
	for _, obj := range objects {
		g.Go(func() error {
			if err := o.put(gctx, obj.name, obj.data); err != nil {
				return err
			}
			got, err := o.get(gctx, obj.name)
			if err != nil {
				return err
			}
			if !bytes.Equal(got, obj.data) {
				mu.Lock()
				bad = append(bad, obj.name)
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d objects read back from %s differ from the ones written, first %s", len(bad), o.loc, bad[0])
	}
	return nil
}

// checkEmpty returns an error wrapping ErrTargetNotEmpty if d's database
// or object store holds a log.
func (d *awsDriver) checkEmpty(ctx context.Context) error {
	for _, q := range []string{"SELECT `seq` FROM `IntCoord` WHERE `id` = 0", "SELECT `next` FROM `SeqCoord` WHERE `id` = 0"} {
		n, err := tableSize(ctx, d.db, q)
		if err != nil {
			return fmt.Errorf("migrate: %s: %w", d.Where(), err)
		}
		if n > 0 {
			return fmt.Errorf("migrate: %s: its database already sequenced %d entries for the object store: %w", d.Where(), n, ErrTargetNotEmpty)
		}
	}
	_, err := d.objects.get(ctx, layout.CheckpointPath)
	switch {
	case err == nil:
		return fmt.Errorf("migrate: %s already holds a checkpoint: %w", d.Where(), ErrTargetNotEmpty)
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// initTables has Tessera's AWS driver create its tables, as it does when
// it first opens a log.
func (d *awsDriver) initTables(ctx context.Context) error {
	if _, err := tessera.NewMigrationTarget(ctx, d.inner.(tessera.Driver), tessera.NewMigrationOptions()); err != nil {
		return fmt.Errorf("migrate: create the object store's tables in %s: %w", d.dbName, err)
	}
	return nil
}

// setTree sets the AWS driver's coordination tables to a tree of size
// entries with root, all of them sequenced, integrated and published, if
// they still describe an empty log.
func (d *awsDriver) setTree(ctx context.Context, size uint64, root []byte) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // after Commit it only returns ErrTxDone
	var seq, next uint64
	if err := tx.QueryRowContext(ctx, "SELECT `seq` FROM `IntCoord` WHERE `id` = 0 FOR UPDATE").Scan(&seq); err != nil {
		return fmt.Errorf("migrate: read IntCoord: %w", err)
	}
	if err := tx.QueryRowContext(ctx, "SELECT `next` FROM `SeqCoord` WHERE `id` = 0 FOR UPDATE").Scan(&next); err != nil {
		return fmt.Errorf("migrate: read SeqCoord: %w", err)
	}
	if seq != 0 || next != 0 {
		return fmt.Errorf("migrate: %s: a server sequenced %d entries for the object store during the copy: %w", d.Where(), next, ErrTargetNotEmpty)
	}
	for _, stmt := range []struct {
		q    string
		args []any
	}{
		{"UPDATE `IntCoord` SET `seq` = ?, `rootHash` = ? WHERE `id` = 0", []any{size, root}},
		{"UPDATE `SeqCoord` SET `next` = ? WHERE `id` = 0", []any{size}},
		{"UPDATE `PubCoord` SET `publishedAt` = ?, `size` = ? WHERE `id` = 0", []any{time.Now().Unix(), size}},
	} {
		if _, err := tx.ExecContext(ctx, stmt.q, stmt.args...); err != nil {
			return fmt.Errorf("migrate: set the object store's tree state: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: set the object store's tree state: %w", err)
	}
	return nil
}
