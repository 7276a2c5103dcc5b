package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"
)

// NewPOSIX returns a Tessera POSIX driver keeping the log's tiles, entry
// bundles and checkpoint under dir, which is created if missing. Every
// write is synced to disk before an append is acknowledged.
func NewPOSIX(ctx context.Context, dir string) (Driver, error) {
	if dir == "" {
		return nil, errors.New("tlog directory is empty")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create tlog directory: %w", err)
	}
	d, err := posix.New(ctx, posix.Config{Path: dir})
	if err != nil {
		return nil, fmt.Errorf("open tlog POSIX storage %s: %w", dir, err)
	}
	return &posixDriver{inner: d.(appendLifecycle), dir: dir}, nil
}

// POSIXRecord reads (and writes) the signed-checkpoint record and tree
// state of the POSIX log in dir without opening Tessera's driver, for
// checking a log offline.
func POSIXRecord(dir string) Record { return &posixDriver{dir: dir} }

// posixDriver is Tessera's POSIX driver plus the signed-checkpoint record
// in <dir>/.signet/signed-checkpoint, a file Tessera never writes.
type posixDriver struct {
	inner appendLifecycle
	dir   string
}

// SignedCheckpointFile is where a POSIX log keeps its signed-checkpoint
// record, relative to the log directory.
const SignedCheckpointFile = ".signet/signed-checkpoint"

// Appender implements Tessera's append lifecycle by delegation.
func (d *posixDriver) Appender(ctx context.Context, opts *tessera.AppendOptions) (*tessera.Appender, tessera.LogReader, error) {
	return d.inner.Appender(ctx, opts)
}

func (d *posixDriver) LoadSigned(context.Context) ([]byte, error) {
	raw, err := os.ReadFile(filepath.Join(d.dir, SignedCheckpointFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read signed-checkpoint record: %w", err)
	}
	return raw, nil
}

// StoreSigned replaces the record with a file renamed into place. It is
// not synced: the record guards against a rolled-back published
// checkpoint and tree state, and the published checkpoint, which Tessera
// writes right after (synced), stands for a record update lost in a power
// loss (the guard takes the larger of the two, and ignores a record that
// does not verify). A sync here would add to the latency of every append.
func (d *posixDriver) StoreSigned(_ context.Context, note []byte) error {
	path := filepath.Join(d.dir, SignedCheckpointFile)
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

func (d *posixDriver) TreeState(context.Context) (uint64, []byte, error) {
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

func (d *posixDriver) Where() string { return "log directory " + d.dir }
