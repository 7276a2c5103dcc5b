package tlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/transparency-dev/tessera"
)

// awaiter waits for appended entries to be committed to by a published
// checkpoint, as tessera.PublicationAwaiter does, but wakes a waiting append
// only when a checkpoint grows the tree (or reading fails), not at every
// poll. Tessera's awaiter broadcasts to every waiter at each poll: with
// thousands of appends in flight, each waiting about a checkpoint interval,
// that was hundreds of thousands of goroutine wake-ups a second.
type awaiter struct {
	mu      sync.Mutex
	size    uint64        // tree size of cp
	cp      []byte        // latest checkpoint read
	err     error         // why the latest read failed; nil when it did not
	changed chan struct{} // closed, and replaced, when size or err changes
	stopped chan struct{} // closed when polling has stopped
}

// newAwaiter starts polling readCheckpoint every interval until ctx ends;
// wait waits for the polling to stop.
func newAwaiter(ctx context.Context, readCheckpoint func(context.Context) ([]byte, error), interval time.Duration) *awaiter {
	a := &awaiter{changed: make(chan struct{}), stopped: make(chan struct{})}
	go a.poll(ctx, readCheckpoint, interval)
	return a
}

// wait returns when the awaiter has stopped polling, after its context
// ended.
func (a *awaiter) wait() { <-a.stopped }

func (a *awaiter) poll(ctx context.Context, readCheckpoint func(context.Context) ([]byte, error), interval time.Duration) {
	defer close(a.stopped)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
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
			size, err = checkpointSize(cp)
		}
		a.update(cp, size, err)
	}
}

// update records a read and wakes the waiters if it changes what they wait
// on. A read error wakes them all with the error, as Tessera's awaiter does.
func (a *awaiter) update(cp []byte, size uint64, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case err != nil:
		if a.err != nil && a.err.Error() == err.Error() {
			return
		}
		a.err = err
	case a.err == nil && size <= a.size:
		return // nothing new (a smaller tree never replaces a larger one)
	default:
		a.cp, a.size, a.err = cp, size, nil
	}
	close(a.changed)
	a.changed = make(chan struct{})
}

// Await waits for future's entry to be assigned an index and then for a
// checkpoint that commits to it, and returns both. It fails when reading the
// checkpoint fails or ctx ends first.
func (a *awaiter) Await(ctx context.Context, future tessera.IndexFuture) (tessera.Index, []byte, error) {
	idx, err := future()
	if err != nil {
		return idx, nil, err
	}
	for {
		a.mu.Lock()
		size, cp, err, changed := a.size, a.cp, a.err, a.changed
		a.mu.Unlock()
		switch {
		case err != nil:
			return idx, nil, err
		case idx.Index < size:
			return idx, cp, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return idx, nil, ctx.Err()
		}
	}
}

// checkpointSize reads the tree size, the second line, of a checkpoint
// without checking its signature: callers verify the checkpoint before
// they use it.
func checkpointSize(cp []byte) (uint64, error) {
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
