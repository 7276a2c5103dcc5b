package guard

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signetproject/signet/tlog/storage"
	"github.com/transparency-dev/tessera"
)

// fakeCheckpoints is a checkpoint source whose answer the test sets.
type fakeCheckpoints struct {
	mu  sync.Mutex
	cp  []byte
	err error
}

func (f *fakeCheckpoints) set(size uint64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cp, f.err = fmt.Appendf(nil, "origin\n%d\nAAAA\n\n— origin sig\n", size), err
}

func (f *fakeCheckpoints) read(context.Context) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cp == nil && f.err == nil {
		return nil, os.ErrNotExist
	}
	return f.cp, f.err
}

func indexFuture(i uint64) tessera.IndexFuture {
	return func() (tessera.Index, error) { return tessera.Index{Index: i}, nil }
}

// awaitAsync runs Await in the background and returns its result channel.
func awaitAsync(ctx context.Context, a *Awaiter, index uint64) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, cp, err := a.Await(ctx, indexFuture(index))
		if err == nil {
			var size uint64
			if size, err = storage.CheckpointSize(cp); err == nil && size <= index {
				err = fmt.Errorf("returned a checkpoint of size %d for index %d", size, index)
			}
		}
		done <- err
	}()
	return done
}

func TestAwaiter(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := &fakeCheckpoints{}
	a := NewAwaiter(ctx, src.read, time.Millisecond)

	first, fifth := awaitAsync(ctx, a, 0), awaitAsync(ctx, a, 4)
	notYet := func(ch <-chan error, what string) {
		t.Helper()
		select {
		case err := <-ch:
			t.Fatalf("%s returned early: %v", what, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	notYet(first, "await before any checkpoint")
	src.set(1, nil)
	if err := <-first; err != nil {
		t.Fatalf("index 0 with a checkpoint of size 1: %v", err)
	}
	notYet(fifth, "await of index 4 at size 1")
	src.set(5, nil)
	if err := <-fifth; err != nil {
		t.Fatalf("index 4 with a checkpoint of size 5: %v", err)
	}

	// A failing read releases waiters with its error; a good read recovers.
	waiting := awaitAsync(ctx, a, 9)
	notYet(waiting, "await of index 9 at size 5")
	boom := errors.New("disk on fire")
	src.set(5, boom)
	if err := <-waiting; !errors.Is(err, boom) {
		t.Fatalf("await during a failing read = %v, want %v", err, boom)
	}
	src.set(10, nil)
	// Until the next poll the awaiter still reports the failed read.
	deadline := time.Now().Add(5 * time.Second)
	for err := <-awaitAsync(ctx, a, 9); err != nil; err = <-awaitAsync(ctx, a, 9) {
		if !errors.Is(err, boom) || time.Now().After(deadline) {
			t.Fatalf("await after the read recovered: %v", err)
		}
		time.Sleep(time.Millisecond)
	}

	// A caller's context ends its own wait only.
	short, stop := context.WithCancel(ctx)
	mine, other := awaitAsync(short, a, 20), awaitAsync(ctx, a, 20)
	stop()
	if err := <-mine; !errors.Is(err, context.Canceled) {
		t.Fatalf("await with a canceled context = %v", err)
	}
	notYet(other, "another await when one caller gave up")

	// Stopping the awaiter releases everyone, and its polling ends.
	cancel()
	if err := <-other; !errors.Is(err, context.Canceled) {
		t.Fatalf("await after the awaiter stopped = %v", err)
	}
	a.Wait()
}

func TestAwaiterIdleDoesNotPoll(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := &fakeCheckpoints{}
	src.set(1, nil)
	var reads atomic.Int64
	read := func(ctx context.Context) ([]byte, error) {
		reads.Add(1)
		return src.read(ctx)
	}
	a := NewAwaiter(ctx, read, time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	if n := reads.Load(); n != 0 {
		t.Errorf("an idle awaiter read the checkpoint %d times in 100 ms", n)
	}
	if err := <-awaitAsync(ctx, a, 0); err != nil {
		t.Fatal(err)
	}
	if reads.Load() == 0 {
		t.Fatal("a waiting append made no read")
	}
	time.Sleep(20 * time.Millisecond) // the poll in progress, if any, ends
	n := reads.Load()
	time.Sleep(100 * time.Millisecond)
	if m := reads.Load() - n; m != 0 {
		t.Errorf("the awaiter went on reading %d times after the last wait", m)
	}
	// An error read before an append started waiting does not fail it.
	src.set(1, errors.New("stale failure"))
	if err := <-awaitAsync(ctx, a, 5); err == nil {
		t.Fatal("await of index 5 at size 1 succeeded")
	}
	src.set(6, nil)
	if err := <-awaitAsync(ctx, a, 5); err != nil {
		t.Fatalf("await after a failed read, with the failure gone: %v", err)
	}
	cancel()
	a.Wait()
}
