package ctlog

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"

	"github.com/transparency-dev/tessera/ctonly"
)

// leafID names an entry by what its SCT signs besides the timestamp and
// extensions: the entry type and the certificate (x509_entry), or the
// issuer key hash and the TBS certificate without its poison
// (precert_entry), as Sunlight's deduplication cache keys entries. Two
// submissions with one leafID get the same SCT whatever chains and
// precertificate signatures they came with: the SCT covers neither.
//
// Tessera's own antispam (tessera.WithAntispam) is not used: its identity
// of a CT entry is the SHA-256 of the whole precertificate, signature
// included, so a precertificate re-signed over the same TBS (ECDSA
// signatures differ each time, and (r, n-s) is as valid as (r, s)) would
// be a new entry, and it gives back the earlier entry's index but not its
// timestamp, which the SCT must carry.
type leafID [sha256.Size]byte

func entryID(e *ctonly.Entry) leafID {
	h := sha256.New()
	if e.IsPrecert {
		h.Write([]byte{0, precertEntry})
		h.Write(e.IssuerKeyHash)
	} else {
		h.Write([]byte{0, x509Entry})
	}
	n := len(e.Certificate)
	h.Write([]byte{byte(n >> 16), byte(n >> 8), byte(n)})
	h.Write(e.Certificate)
	return leafID(h.Sum(nil))
}

// stamp is where and when an entry was logged: its leaf index and the
// timestamp of its TimestampedEntry.
type stamp struct{ index, timestamp uint64 }

// inflight is a submission being sequenced; done closes once st or err
// is set.
type inflight struct {
	done    chan struct{}
	st      stamp
	err     error
	waiters int // submissions of the same entry waiting for this one
}

// dedup remembers the entries a log sequenced recently, so a resubmission
// gets an SCT for the entry it has rather than a new entry (RFC 6962 §4.1
// lets a log answer with the SCT it issued before), and makes concurrent
// submissions of one entry wait for the first. It keeps between max and
// 2*max entries in two generations; what it has forgotten (entries older
// than that, or sequenced before a restart) is logged again.
//
// A map in memory rather than a read of the entry back from its data
// tile: the stamp is known exactly when Tessera sequences the entry,
// before the entry is integrated into a tile, and a lookup costs no
// storage read for submissions that are not duplicates.
type dedup struct {
	max int

	mu       sync.Mutex
	cur, old map[leafID]stamp
	pending  map[leafID]*inflight
}

func newDedup(max int) *dedup {
	return &dedup{max: max, cur: map[leafID]stamp{}, old: map[leafID]stamp{}, pending: map[leafID]*inflight{}}
}

// sequence returns the stamp of the entry with id: the remembered one
// (dup true), the one a concurrent submission of it gets (dup true), or
// the one add gives it. Only stamps of entries add sequenced without error
// are remembered, so a stamp always names the stored entry.
func (d *dedup) sequence(ctx context.Context, id leafID, add func() (stamp, error)) (st stamp, dup bool, err error) {
	if d == nil {
		st, err := add()
		return st, false, err
	}
	for {
		d.mu.Lock()
		if st, ok := d.lookup(id); ok {
			d.mu.Unlock()
			return st, true, nil
		}
		p, waiting := d.pending[id]
		if waiting {
			p.waiters++
		} else {
			p = &inflight{done: make(chan struct{})}
			d.pending[id] = p
		}
		d.mu.Unlock()
		if !waiting {
			p.st, p.err = add()
			d.mu.Lock()
			delete(d.pending, id)
			if p.err == nil {
				d.remember(id, p.st)
			}
			d.mu.Unlock()
			close(p.done)
			return p.st, false, p.err
		}
		select {
		case <-p.done:
		case <-ctx.Done():
			return stamp{}, false, ctx.Err()
		}
		if p.err == nil {
			return p.st, true, nil
		}
		// The first submission failed. If only because its client went
		// away, this one tries itself; otherwise (pushback, storage) it
		// fails as the first did.
		if !errors.Is(p.err, context.Canceled) && !errors.Is(p.err, context.DeadlineExceeded) {
			return stamp{}, false, p.err
		}
	}
}

// lookup returns the remembered stamp of id; d.mu is held.
func (d *dedup) lookup(id leafID) (stamp, bool) {
	if st, ok := d.cur[id]; ok {
		return st, true
	}
	st, ok := d.old[id]
	return st, ok
}

// remember records id's stamp, dropping the older generation when the
// current one is full; d.mu is held.
func (d *dedup) remember(id leafID, st stamp) {
	if len(d.cur) >= d.max {
		d.old, d.cur = d.cur, make(map[leafID]stamp, d.max)
	}
	d.cur[id] = st
}

// len returns how many entries d remembers.
func (d *dedup) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.cur) + len(d.old)
}
