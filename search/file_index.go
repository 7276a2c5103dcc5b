package search

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"

	"github.com/signetproject/signet/internal/jsonlines"
)

// FileIndex is the embedded [Index]: an append-only file of JSON lines,
// each synced before Add returns, replayed into memory when opened. Memory
// grows with the log, about 50 bytes per entry and key.
type FileIndex struct {
	mu        sync.RWMutex
	f         *jsonlines.File
	times     map[entryRef]int64
	summaries map[entryRef]*Summary
	postings  map[string][]Posting // oldest first, without summaries
	followed  map[Log]uint64
	gen       uint64
}

type entryRef struct {
	log   Log
	index uint64
}

// fileIndexRecord is one line of a FileIndex: an entry's keys (L, I, T,
// K), a followed size (F, N), or a reset's generation (G).
type fileIndexRecord struct {
	// Logs are stored as numbers (Log marshals to text for the API).
	L uint8    `json:"l,omitempty"`
	I uint64   `json:"i,omitempty"`
	T int64    `json:"t,omitempty"`
	S *Summary `json:"s,omitempty"`
	K []string `json:"k,omitempty"`
	F uint8    `json:"f,omitempty"`
	N uint64   `json:"n,omitempty"`
	G uint64   `json:"g,omitempty"`
}

var _ Index = (*FileIndex)(nil)

// ErrDamagedIndex is the error, wrapped, of opening an index file with a
// complete record that cannot be read. The index is derived from the logs
// but for the times it first saw their entries: [OpenFilesToReindex] opens
// it anyway, for [Service.Reindex] to rebuild.
var ErrDamagedIndex = errors.New("damaged search index record")

// OpenFileIndex opens the index kept in the file at path, creating it if
// missing. A last line left incomplete by a crash is dropped. Close it when
// done.
func OpenFileIndex(path string) (*FileIndex, error) {
	x, _, err := openFileIndex(path, false)
	return x, err
}

// openFileIndex is OpenFileIndex; with skipDamaged, records that cannot be
// read are skipped and counted instead of refused.
func openFileIndex(path string, skipDamaged bool) (*FileIndex, int, error) {
	x := &FileIndex{}
	x.clear()
	f, skipped, err := jsonlines.Open(path, func(line []byte) error {
		var rec fileIndexRecord
		if err := json.Unmarshal(line, &rec); err != nil {
			return fmt.Errorf("%w: %v", ErrDamagedIndex, err)
		}
		x.apply(rec)
		return nil
	}, skipDamaged)
	if err != nil {
		return nil, 0, fmt.Errorf("open search index: %w", err)
	}
	x.f = f
	return x, skipped, nil
}

func (x *FileIndex) clear() {
	x.times = make(map[entryRef]int64)
	x.summaries = make(map[entryRef]*Summary)
	x.postings = make(map[string][]Posting)
	x.followed = make(map[Log]uint64)
}

// apply updates memory with one record; x.mu must be held for writing.
func (x *FileIndex) apply(rec fileIndexRecord) {
	switch {
	case rec.L != 0:
		p := x.posting(Posting{Log: Log(rec.L), Index: rec.I, Time: rec.T}, rec.S)
		for _, k := range rec.K {
			x.insert(k, p)
		}
	case rec.F != 0:
		x.followed[Log(rec.F)] = max(x.followed[Log(rec.F)], rec.N)
	case rec.G != 0:
		x.gen = rec.G
		x.postings = make(map[string][]Posting)
		x.followed = make(map[Log]uint64)
	}
}

// posting returns p with the time first recorded for its entry, recording
// p's time if there is none, and records the summary if there is none.
func (x *FileIndex) posting(p Posting, sum *Summary) Posting {
	ref := entryRef{p.Log, p.Index}
	if t, ok := x.times[ref]; ok {
		p.Time = t
	} else {
		x.times[ref] = p.Time
	}
	if _, ok := x.summaries[ref]; !ok && sum != nil {
		x.summaries[ref] = sum
	}
	return p
}

// insert adds p to key's postings and reports whether it was new.
func (x *FileIndex) insert(key string, p Posting) bool {
	ps := x.postings[key]
	i, found := slices.BinarySearchFunc(ps, p, comparePostings)
	if found {
		return false
	}
	x.postings[key] = slices.Insert(ps, i, p)
	return true
}

func (x *FileIndex) has(key string, p Posting) bool {
	_, found := slices.BinarySearchFunc(x.postings[key], p, comparePostings)
	return found
}

// Add implements [Index]; one batch is one write and one sync.
func (x *FileIndex) Add(_ context.Context, entries []IndexEntry) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	var recs []any // of fileIndexRecord
	for _, e := range entries {
		p := e.Posting
		if p.Log == 0 {
			return fmt.Errorf("add to search index: entry %d has no log", p.Index)
		}
		ref := entryRef{p.Log, p.Index}
		t, known := x.times[ref]
		if known {
			p.Time = t
		}
		p.Summary = nil
		var sum *Summary
		if _, ok := x.summaries[ref]; !ok {
			sum = e.Summary
		}
		var fresh []string
		for _, k := range e.Keys {
			if !x.has(k, p) && !slices.Contains(fresh, k) {
				fresh = append(fresh, k)
			}
		}
		if !known || len(fresh) > 0 || sum != nil {
			recs = append(recs, fileIndexRecord{L: uint8(p.Log), I: p.Index, T: p.Time, S: sum, K: fresh})
		}
	}
	if len(recs) == 0 {
		return nil
	}
	if err := x.f.Append(recs...); err != nil {
		return fmt.Errorf("add to search index: %w", err)
	}
	for _, r := range recs {
		x.apply(r.(fileIndexRecord))
	}
	return nil
}

// Lookup implements [Index].
func (x *FileIndex) Lookup(_ context.Context, keys []string, offset, limit int) ([]Posting, int, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	lists := make([][]Posting, 0, len(keys))
	for _, k := range keys {
		if ps := x.postings[k]; len(ps) > 0 {
			lists = append(lists, ps)
		}
	}
	page, total, err := pageNewestFirst(lists, offset, limit)
	for i := range page {
		page[i].Summary = x.summaries[entryRef{page[i].Log, page[i].Index}]
	}
	return page, total, err
}

// pageNewestFirst merges postings lists (each oldest first), dropping
// duplicates, and returns the page newest first and the merged count.
func pageNewestFirst(lists [][]Posting, offset, limit int) ([]Posting, int, error) {
	offset, limit = max(offset, 0), max(limit, 0)
	if len(lists) == 1 {
		ps := lists[0]
		var page []Posting
		for i := len(ps) - 1 - offset; i >= 0 && len(page) < limit; i-- {
			page = append(page, ps[i])
		}
		return page, len(ps), nil
	}
	pos := make([]int, len(lists))
	for i, l := range lists {
		pos[i] = len(l) - 1
	}
	var (
		page  []Posting
		total int
		last  *Posting
	)
	for {
		best := -1
		for i, l := range lists {
			if pos[i] >= 0 && (best < 0 || comparePostings(l[pos[i]], lists[best][pos[best]]) > 0) {
				best = i
			}
		}
		if best < 0 {
			return page, total, nil
		}
		p := lists[best][pos[best]]
		pos[best]--
		if last != nil && comparePostings(*last, p) == 0 {
			continue
		}
		last = &p
		if total >= offset && len(page) < limit {
			page = append(page, p)
		}
		total++
	}
}

// Followed implements [Index].
func (x *FileIndex) Followed(_ context.Context, log Log) (uint64, uint64, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.followed[log], x.gen, nil
}

// SetFollowed implements [Index].
func (x *FileIndex) SetFollowed(_ context.Context, log Log, size, generation uint64) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if generation != x.gen || size <= x.followed[log] {
		return nil
	}
	if err := x.f.Append(fileIndexRecord{F: uint8(log), N: size}); err != nil {
		return fmt.Errorf("record followed size: %w", err)
	}
	x.followed[log] = size
	return nil
}

// Reset implements [Index]: it rewrites the file with only the recorded
// times and the new generation, replacing it atomically.
func (x *FileIndex) Reset(context.Context) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	gen := x.gen + 1
	replaced, err := x.f.Replace(func(yield func(any) bool) {
		if !yield(fileIndexRecord{G: gen}) {
			return
		}
		for ref, t := range x.times {
			if !yield(fileIndexRecord{L: uint8(ref.log), I: ref.index, T: t, S: x.summaries[ref]}) {
				return
			}
		}
	})
	if replaced {
		x.gen = gen
		x.postings = make(map[string][]Posting)
		x.followed = make(map[Log]uint64)
	}
	if err != nil {
		return fmt.Errorf("reset search index: %w", err)
	}
	return nil
}

// Close closes the index file.
func (x *FileIndex) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.f.Close()
}

// OpenFiles opens the embedded index and envelope store kept under dir (a
// server keeps them in <data dir>/search), creating them if missing. Close
// the index when done.
func OpenFiles(dir string) (*FileIndex, *FileEnvelopeStore, error) {
	x, env, _, err := openFiles(dir, false)
	return x, env, err
}

// OpenFilesToReindex is [OpenFiles] for [Service.Reindex], which rebuilds
// the index: the index's records that cannot be read ([ErrDamagedIndex])
// are skipped, and counted, instead of refused. They stay in the file until
// Reindex rewrites it; the times they held are lost.
func OpenFilesToReindex(dir string) (x *FileIndex, env *FileEnvelopeStore, skipped int, err error) {
	return openFiles(dir, true)
}

func openFiles(dir string, skipDamaged bool) (*FileIndex, *FileEnvelopeStore, int, error) {
	env, err := NewFileEnvelopeStore(filepath.Join(dir, "envelopes"))
	if err != nil {
		return nil, nil, 0, err
	}
	x, skipped, err := openFileIndex(filepath.Join(dir, "index.jsonl"), skipDamaged)
	if err != nil {
		return nil, nil, 0, err
	}
	return x, env, skipped, nil
}
