package tlog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/transparency-dev/tessera"
)

// signedRecord keeps the last checkpoint a log signed, durably and outside
// what Tessera rewrites (its checkpoint, tree state, tiles and bundles), and
// reads the tree state Tessera integrated up to. The log's consistency guard
// ([guard]) checks every new checkpoint against the record before signing
// it. [NewPOSIXDriver] and [NewMySQLDriver] return drivers that implement
// it; [New] and [NewV1Log] refuse other drivers.
type signedRecord interface {
	// loadSigned returns the recorded signed checkpoint, or nil if none was
	// ever recorded.
	loadSigned(ctx context.Context) ([]byte, error)
	// storeSigned durably records a signed checkpoint.
	storeSigned(ctx context.Context, note []byte) error
	// treeState returns the size and root hash of the tree Tessera has
	// integrated (it may be ahead of the published checkpoint).
	treeState(ctx context.Context) (uint64, []byte, error)
	// where names the storage for error messages.
	where() string
}

// appendLifecycle is the part of a Tessera driver that tessera.NewAppender
// uses.
type appendLifecycle interface {
	Appender(context.Context, *tessera.AppendOptions) (*tessera.Appender, tessera.LogReader, error)
}

// posixDriver is Tessera's POSIX driver plus the signed-checkpoint record
// in <dir>/.signet/signed-checkpoint, a file Tessera never writes.
type posixDriver struct {
	inner appendLifecycle
	dir   string
}

// signedCheckpointFile is where a POSIX log keeps its signed-checkpoint
// record, relative to the log directory.
const signedCheckpointFile = ".signet/signed-checkpoint"

// Appender implements Tessera's append lifecycle by delegation.
func (d *posixDriver) Appender(ctx context.Context, opts *tessera.AppendOptions) (*tessera.Appender, tessera.LogReader, error) {
	return d.inner.Appender(ctx, opts)
}

func (d *posixDriver) loadSigned(context.Context) ([]byte, error) {
	raw, err := os.ReadFile(filepath.Join(d.dir, signedCheckpointFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read signed-checkpoint record: %w", err)
	}
	return raw, nil
}

// storeSigned replaces the record with a file renamed into place. It is
// not synced: the record guards against a rolled-back published
// checkpoint and tree state, and the published checkpoint, which Tessera
// writes right after (synced), stands for a record update lost in a power
// loss (guard.open takes the larger of the two, and ignores a record that
// does not verify). A sync here would add to the latency of every append.
func (d *posixDriver) storeSigned(_ context.Context, note []byte) error {
	path := filepath.Join(d.dir, signedCheckpointFile)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("record signed checkpoint: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, note, 0o644); err != nil {
		return fmt.Errorf("record signed checkpoint: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("record signed checkpoint: %w", err)
	}
	return nil
}

func (d *posixDriver) treeState(context.Context) (uint64, []byte, error) {
	path := filepath.Join(d.dir, ".state", "treeState")
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, fmt.Errorf("read tree state: %w", err)
	}
	var ts struct {
		Size *uint64 `json:"size"`
		Root []byte  `json:"root"`
	}
	if err := json.Unmarshal(raw, &ts); err != nil || ts.Size == nil {
		return 0, nil, fmt.Errorf("tree state %s is not Tessera's {\"size\":…,\"root\":…}: %.80q: %w", path, raw, ErrIntegrity)
	}
	return *ts.Size, ts.Root, nil
}

func (d *posixDriver) where() string { return "log directory " + d.dir }

// mysqlDriver is Tessera's MySQL driver plus the signed-checkpoint record
// in the SignetSignedCheckpoint table, which Tessera never writes.
type mysqlDriver struct {
	inner appendLifecycle
	db    *sql.DB
	name  string // database name, for messages
}

// Appender implements Tessera's append lifecycle by delegation.
func (d *mysqlDriver) Appender(ctx context.Context, opts *tessera.AppendOptions) (*tessera.Appender, tessera.LogReader, error) {
	return d.inner.Appender(ctx, opts)
}

func (d *mysqlDriver) loadSigned(ctx context.Context) ([]byte, error) {
	var note []byte
	err := d.db.QueryRowContext(ctx, "SELECT `note` FROM `SignetSignedCheckpoint` WHERE `id` = 0").Scan(&note)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read signed-checkpoint record: %w", err)
	}
	return note, nil
}

// storeSigned records note unless a larger tree is already recorded:
// servers sharing the database sign one after another (Tessera holds the
// checkpoint row locked while signing), so the record only grows.
func (d *mysqlDriver) storeSigned(ctx context.Context, note []byte) error {
	size, err := checkpointSize(note)
	if err != nil {
		return err
	}
	// MySQL assigns left to right: note is compared with the old size.
	_, err = d.db.ExecContext(ctx, "INSERT INTO `SignetSignedCheckpoint` (`id`, `size`, `note`) VALUES (0, ?, ?) "+
		"ON DUPLICATE KEY UPDATE `note` = IF(VALUES(`size`) >= `size`, VALUES(`note`), `note`), `size` = GREATEST(`size`, VALUES(`size`))",
		size, note)
	if err != nil {
		return fmt.Errorf("record signed checkpoint: %w", err)
	}
	return nil
}

func (d *mysqlDriver) treeState(ctx context.Context) (uint64, []byte, error) {
	var (
		size uint64
		root []byte
	)
	if err := d.db.QueryRowContext(ctx, "SELECT `size`, `root` FROM `TreeState` WHERE `id` = 0").Scan(&size, &root); err != nil {
		return 0, nil, fmt.Errorf("read tree state: %w", err)
	}
	return size, root, nil
}

func (d *mysqlDriver) where() string { return "MySQL database " + d.name }

// writeFileDurably writes data to path through a synced temporary file
// renamed into place, then syncs the directory, so that a crash leaves
// either the old or the new content.
func writeFileDurably(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := syncFile(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncFile(filepath.Dir(path))
}
