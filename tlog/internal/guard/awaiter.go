package guard

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"

	"github.com/signetproject/signet/tlog/storage"
	"github.com/transparency-dev/tessera"
)

// Awaiter waits for appended entries to be committed to by a published
// checkpoint, as tessera.PublicationAwaiter does, but wakes a waiting append
// only when a checkpoint grows the tree (or reading fails), not at every
// poll. Tessera's awaiter broadcasts to every waiter at each poll: with
// thousands of appends in flight, each waiting about a checkpoint interval,
// that was hundreds of thousands of goroutine wake-ups a second. It reads
// the checkpoint only while appends wait: an idle log does no reads.
type Awaiter struct {
	mu      sync.Mutex
	size    uint64        // tree size of cp
	cp      []byte        // latest checkpoint read
	err     error         // why the latest read failed; nil when it did not
	errRead uint64        // the read that failed with err
	reads   uint64        // reads made so far
	halted  error         // set by halt: every wait fails with it
	waiting int           // appends waiting
	changed chan struct{} // closed, and replaced, when size, err or halted changes
	wake    chan struct{} // signalled when the first append starts waiting
	stopped chan struct{} // closed when polling has stopped
}

// NewAwaiter starts polling readCheckpoint every interval, while appends
// wait, until ctx ends; wait waits for the polling to stop.
func NewAwaiter(ctx context.Context, readCheckpoint func(context.Context) ([]byte, error), interval time.Duration) *Awaiter {
	a := &Awaiter{changed: make(chan struct{}), wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go a.poll(ctx, readCheckpoint, interval)
	return a
}

// Wait returns when the awaiter has stopped polling, after its context
// ended.
func (a *Awaiter) Wait() { <-a.stopped }

func (a *Awaiter) poll(ctx context.Context, readCheckpoint func(context.Context) ([]byte, error), interval time.Duration) {
	defer close(a.stopped)
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		a.mu.Lock()
		idle := a.waiting == 0
		a.mu.Unlock()
		if idle {
			select {
			case <-ctx.Done():
				a.update(nil, 0, ctx.Err())
				return
			case <-a.wake:
			}
		}
		t.Reset(interval)
		select {
		case <-ctx.Done():
			a.update(nil, 0, ctx.Err())
			return
		case <-t.C:
		}
		cp, err := readCheckpoint(ctx)
		if errors.Is(err, os.ErrNotExist) {
			continue // no checkpoint published yet
		}
		var size uint64
		if err == nil {
			size, err = storage.CheckpointSize(cp)
		}
		a.update(cp, size, err)
	}
}

// update records a read and wakes the waiters if it changes what they wait
// on. A read error wakes them all with the error, as Tessera's awaiter does.
func (a *Awaiter) update(cp []byte, size uint64, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reads++
	switch {
	case err != nil:
		// Wake every waiter: those that started waiting before this read
		// fail with it.
		a.err, a.errRead = err, a.reads
	case a.err == nil && size <= a.size:
		return // nothing new (a smaller tree never replaces a larger one)
	default:
		if size > a.size {
			a.cp, a.size = cp, size
		}
		a.err = nil
	}
	close(a.changed)
	a.changed = make(chan struct{})
}

// Halt makes every current and future wait fail with err: the log found
// that it must not publish checkpoints any more.
func (a *Awaiter) Halt(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.halted != nil {
		return
	}
	a.halted = err
	close(a.changed)
	a.changed = make(chan struct{})
}

// Await waits for future's entry to be assigned an index and then for a
// checkpoint that commits to it, and returns both. It fails when reading the
// checkpoint fails after it started waiting, when the awaiter is halted, or
// when ctx ends first.
func (a *Awaiter) Await(ctx context.Context, future tessera.IndexFuture) (tessera.Index, []byte, error) {
	idx, err := future()
	if err != nil {
		return idx, nil, err
	}
	a.mu.Lock()
	a.waiting++
	since := a.reads
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default: // the poller is awake or already signalled
	}
	defer func() {
		a.mu.Lock()
		a.waiting--
		a.mu.Unlock()
	}()
	for {
		a.mu.Lock()
		size, cp, err, errRead, halted, changed := a.size, a.cp, a.err, a.errRead, a.halted, a.changed
		a.mu.Unlock()
		switch {
		case halted != nil:
			return idx, nil, halted
		case idx.Index < size:
			return idx, cp, nil
		case err != nil && errRead > since:
			return idx, nil, err
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return idx, nil, ctx.Err()
		}
	}
}
