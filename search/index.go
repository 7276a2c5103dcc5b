package search

import (
	"cmp"
	"context"
)

// Posting is one entry of either log in the index, with the time results
// are ordered by: the integrated time of a v1 entry, the time a v2 entry
// was first indexed (Unix seconds).
type Posting struct {
	Log   Log    `json:"log"`
	Index uint64 `json:"logIndex"`
	Time  int64  `json:"time,omitempty"`
	// Summary is what a results list shows of the entry, kept in the
	// index so that a page of results reads no leaves; nil if unknown.
	Summary *Summary `json:"summary,omitempty"`
}

// IndexEntry is an entry and its search keys, for [Index.Add].
type IndexEntry struct {
	Posting
	Keys []string
}

// comparePostings orders postings oldest first: by time, then log, then
// index. Search results are listed in the reverse order.
func comparePostings(a, b Posting) int {
	if c := cmp.Compare(a.Time, b.Time); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Log, b.Log); c != 0 {
		return c
	}
	return cmp.Compare(a.Index, b.Index)
}

// Index maps search keys to entries of both logs. Its methods must be safe
// for concurrent use. [FileIndex] is the embedded implementation, [MySQLIndex]
// keeps it in a database several servers share.
type Index interface {
	// Add records that each entry matches its keys, durably when Add
	// returns. The time and summary an entry is first added with are
	// kept: a later Add of the same log and index keeps the earlier ones.
	// Adding a pair again is a no-op.
	Add(ctx context.Context, entries []IndexEntry) error
	// Lookup returns the entries matching any of keys, with their
	// summaries, newest first (the reverse of Posting order), skipping
	// offset of them and returning at most limit, with the number of
	// entries matching in all.
	Lookup(ctx context.Context, keys []string, offset, limit int) (page []Posting, total int, err error)
	// Followed returns how many leaves of log, from index 0, are indexed,
	// and the generation that count belongs to.
	Followed(ctx context.Context, log Log) (size, generation uint64, err error)
	// SetFollowed records size as log's followed size if generation is
	// still the current one and size is larger than the recorded size.
	SetFollowed(ctx context.Context, log Log, size, generation uint64) error
	// Reset removes every key and followed size and starts a new
	// generation; recorded times are kept.
	Reset(ctx context.Context) error
}
