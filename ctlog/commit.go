package ctlog

import (
	"context"
	"sync"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/ctonly"
)

// committer hands entries to Tessera one batch at a time (group commit):
// an entry that arrives while no batch is being written goes to Tessera at
// once, and the entries that arrive while one is written wait for it and
// then go together. Tessera's own batching closes a batch when it is full
// or after a fixed age; alone, that age is the choice between making a
// lone signer wait for it before every durable write (10 ms, where the
// write takes about as long) and, when it is short, queueing many small
// batches behind the one being written, each paying a whole write. With
// the committer in front, Tessera's age only has to cover the committer
// handing a batch over, so a lone signer waits for the write alone and a
// busy log still writes large batches.
type committer struct {
	add func(context.Context, *ctonly.Entry) tessera.IndexFuture

	mu      sync.Mutex
	pending []*commit
	running bool // a goroutine is handing batches to add
}

// commit is one entry waiting for its index; done closes once idx or err
// is set.
type commit struct {
	ctx   context.Context
	entry *ctonly.Entry
	done  chan struct{}
	idx   tessera.Index
	err   error
}

func newCommitter(add func(context.Context, *ctonly.Entry) tessera.IndexFuture) *committer {
	return &committer{add: add}
}

// append sequences e with the next batch and returns its index once the
// batch is durably sequenced, or ctx's error if ctx ends first (e may
// then still be sequenced, as with Tessera's own futures).
func (c *committer) append(ctx context.Context, e *ctonly.Entry) (tessera.Index, error) {
	w := &commit{ctx: context.WithoutCancel(ctx), entry: e, done: make(chan struct{})}
	c.mu.Lock()
	c.pending = append(c.pending, w)
	if !c.running {
		c.running = true
		go c.run()
	}
	c.mu.Unlock()
	select {
	case <-w.done:
		return w.idx, w.err
	case <-ctx.Done():
		return tessera.Index{}, ctx.Err()
	}
}

// run hands the pending entries to add as one batch, waits until every one
// of them has its index, and repeats until none is pending.
func (c *committer) run() {
	for {
		c.mu.Lock()
		batch := c.pending
		c.pending = nil
		if len(batch) == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		futures := make([]tessera.IndexFuture, len(batch))
		for i, w := range batch {
			futures[i] = c.add(w.ctx, w.entry)
		}
		for i, w := range batch {
			w.idx, w.err = futures[i]()
			close(w.done)
		}
	}
}
