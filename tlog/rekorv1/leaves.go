package rekorv1

import (
	"context"
	"fmt"

	"github.com/transparency-dev/tessera/api/layout"
)

// Read access to the Rekor v1 tree for followers outside this package (the
// search index of package search), which read its leaves the way
// [Log.Follow] does.

// TreeSize returns the size of the tree the latest verified checkpoint
// commits to (0 before the first checkpoint).
func (l *Log) TreeSize(ctx context.Context) (uint64, error) {
	cp, err := l.checkpoint(ctx)
	if err != nil {
		return 0, fmt.Errorf("v1 tree size: %w", err)
	}
	return cp.Size, nil
}

// ReadEntryBundle returns the v1 tree's entry bundle at index; p is the
// partial width, or 0 for a full bundle. A missing bundle's error wraps
// os.ErrNotExist.
func (l *Log) ReadEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error) {
	b, err := l.reader.ReadEntryBundle(ctx, index, p)
	if err != nil {
		return nil, fmt.Errorf("read v1 entry bundle %s: %w", layout.EntriesPath(index, p), err)
	}
	return b, nil
}

// IntegratedTime returns the integrated time (Unix seconds) recorded for
// the leaf with the given RFC 6962 leaf hash; ok is false when the entry
// store has no record of it.
func (l *Log) IntegratedTime(ctx context.Context, leafHash [32]byte) (t int64, ok bool, err error) {
	rec, ok, err := l.entries.Get(ctx, leafHash)
	if err != nil {
		return 0, false, fmt.Errorf("v1 integrated time: %w", err)
	}
	return rec.IntegratedTime, ok, nil
}
