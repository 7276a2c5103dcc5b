// Package storage opens the Tessera drivers that signet's logs run on, each
// with a durable record of the last checkpoint the log signed, kept outside
// what Tessera rewrites (its checkpoint, tree state, tiles and bundles).
// The logs' consistency guard checks every new checkpoint against that
// record before signing it, so a driver of this package is the only kind
// the logs accept:
//
//   - [NewPOSIX]: a directory on a local or shared POSIX file system;
//   - [NewMySQL]: a MySQL or MariaDB database (Tessera's MySQL driver);
//   - [NewAWS]: an S3-compatible object store for the log's objects and a
//     MySQL or MariaDB database for sequencing (Tessera's AWS driver).
package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api/layout"
)

// ErrIntegrity is the parent of every error reporting that a log's stored
// state (tree state, tiles, entry bundles, published checkpoint) disagrees
// with itself or with a checkpoint the log signed: a bad restore, a disk
// fault or an operator error. A log that finds it refuses to sign
// checkpoints and to append until it is repaired and restarted.
// `signet log verify` checks a log from scratch.
var ErrIntegrity = errors.New("log integrity failure")

// Driver is a Tessera driver of this package: Tessera's append lifecycle
// plus the signed-checkpoint record and a view of the integrated tree.
type Driver interface {
	Record
	// Appender implements Tessera's append lifecycle by delegation to the
	// wrapped Tessera driver.
	Appender(context.Context, *tessera.AppendOptions) (*tessera.Appender, tessera.LogReader, error)
}

// Record is the storage's record of signed checkpoints and its view of the
// tree Tessera integrated.
type Record interface {
	// LoadSigned returns the recorded signed checkpoint, or nil if none was
	// ever recorded.
	LoadSigned(ctx context.Context) ([]byte, error)
	// StoreSigned durably records a signed checkpoint.
	StoreSigned(ctx context.Context, note []byte) error
	// TreeState returns the size and root hash of the tree Tessera has
	// integrated (it may be ahead of the published checkpoint).
	TreeState(ctx context.Context) (uint64, []byte, error)
	// Where names the storage for error messages.
	Where() string
}

// appendLifecycle is the part of a Tessera driver that tessera.NewAppender
// uses.
type appendLifecycle interface {
	Appender(context.Context, *tessera.AppendOptions) (*tessera.Appender, tessera.LogReader, error)
}

// CheckpointSize reads the tree size, the second line, of a checkpoint
// without checking its signature: callers verify the checkpoint before
// they use it.
func CheckpointSize(cp []byte) (uint64, error) {
	_, rest, ok := bytes.Cut(cp, []byte{'\n'})
	line, _, ok2 := bytes.Cut(rest, []byte{'\n'})
	if !ok || !ok2 {
		return 0, fmt.Errorf("checkpoint %.80q has no tree size line", cp)
	}
	size, err := strconv.ParseUint(string(line), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("checkpoint tree size %.40q: %v", line, err)
	}
	return size, nil
}

// Reader reads a log's stored checkpoint, tiles and entry bundles, as
// Tessera's LogReader does.
type Reader interface {
	ReadCheckpoint(ctx context.Context) ([]byte, error)
	ReadTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error)
	ReadEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error)
}

// DirectReader returns a reader of what d stores that reads the storage
// itself rather than through a Tessera appender, for checking a log
// offline. POSIX logs are read with their directory's file names instead.
// An AWS log's objects are read by their exact names, with the entry
// bundles of the tlog-tiles layout.
func DirectReader(d Driver) (Reader, error) {
	if a, ok := d.(*awsDriver); ok {
		return awsReader{o: a.objects, entriesPath: layout.EntriesPath}, nil
	}
	if m, ok := d.(*mysqlDriver); ok {
		if r, ok := m.inner.(Reader); ok {
			return r, nil
		}
	}
	return nil, fmt.Errorf("%s cannot be read directly", d.Where())
}
