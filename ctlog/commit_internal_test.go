package ctlog

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/ctonly"
)

// fakeWriter stands in for Tessera: each entry handed to it is reported
// on added, and its index comes once the test releases the write it is in.
type fakeWriter struct {
	added chan *ctonly.Entry

	mu    sync.Mutex
	next  uint64
	write chan struct{} // closed when the current write completes
	err   error         // the current write's outcome
}

func newFakeWriter() *fakeWriter {
	return &fakeWriter{added: make(chan *ctonly.Entry, 64), write: make(chan struct{})}
}

func (f *fakeWriter) add(_ context.Context, e *ctonly.Entry) tessera.IndexFuture {
	f.mu.Lock()
	idx, write := f.next, f.write
	f.next++
	f.mu.Unlock()
	f.added <- e
	return func() (tessera.Index, error) {
		<-write
		f.mu.Lock()
		defer f.mu.Unlock()
		return tessera.Index{Index: idx}, f.err
	}
}

// finish completes the current write with err and starts the next.
func (f *fakeWriter) finish(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
	close(f.write)
	f.write = make(chan struct{})
}

func (f *fakeWriter) expectAdded(t *testing.T, want ...*ctonly.Entry) {
	t.Helper()
	got := map[*ctonly.Entry]bool{}
	for range want {
		select {
		case e := <-f.added:
			got[e] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d entries handed to Tessera", len(got), len(want))
		}
	}
	for i, e := range want {
		if !got[e] {
			t.Fatalf("entry %d was not handed to Tessera", i)
		}
	}
}

func (f *fakeWriter) expectNoneAdded(t *testing.T) {
	t.Helper()
	select {
	case <-f.added:
		t.Fatal("an entry went to Tessera while a write was under way")
	default:
	}
}

type appended struct {
	idx tessera.Index
	err error
}

func appendAsync(ctx context.Context, c *committer, e *ctonly.Entry) chan appended {
	out := make(chan appended, 1)
	go func() {
		idx, err := c.append(ctx, e)
		out <- appended{idx, err}
	}()
	return out
}

// waitPending waits until n entries wait for the next batch.
func waitPending(t *testing.T, c *committer, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		c.mu.Lock()
		got := len(c.pending)
		c.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d entries pending, want %d", got, n)
		}
	}
}

// TestCommitterGroupsWhileWriting: an entry goes to Tessera at once when
// nothing is being written; those that arrive during a write wait for it
// and then go together.
func TestCommitterGroupsWhileWriting(t *testing.T) {
	f := newFakeWriter()
	c := newCommitter(f.add)
	ctx := t.Context()

	first := &ctonly.Entry{Timestamp: 0}
	r0 := appendAsync(ctx, c, first)
	f.expectAdded(t, first)

	var later []*ctonly.Entry
	var results []chan appended
	for i := range 4 {
		e := &ctonly.Entry{Timestamp: uint64(i + 1)}
		later = append(later, e)
		results = append(results, appendAsync(ctx, c, e))
	}
	waitPending(t, c, 4)
	f.expectNoneAdded(t)

	f.finish(nil)
	if r := <-r0; r.err != nil || r.idx.Index != 0 {
		t.Fatalf("first entry: index %d, %v", r.idx.Index, r.err)
	}
	f.expectAdded(t, later...) // one batch: all before its write completes
	f.finish(nil)
	seen := map[uint64]bool{}
	for i, res := range results {
		r := <-res
		if r.err != nil || r.idx.Index < 1 || r.idx.Index > 4 || seen[r.idx.Index] {
			t.Fatalf("entry %d: index %d, %v", i+1, r.idx.Index, r.err)
		}
		seen[r.idx.Index] = true
	}

	// Idle again: the next entry goes at once.
	r5 := appendAsync(ctx, c, first)
	f.expectAdded(t, first)
	f.finish(nil)
	if r := <-r5; r.err != nil || r.idx.Index != 5 {
		t.Fatalf("entry after idle: index %d, %v", r.idx.Index, r.err)
	}
}

// TestCommitterErrors: a failed write fails each of its entries and not
// the next write's; a caller whose context ends stops waiting.
func TestCommitterErrors(t *testing.T) {
	f := newFakeWriter()
	c := newCommitter(f.add)
	boom := errors.New("disk full")

	a, b := &ctonly.Entry{}, &ctonly.Entry{}
	ra := appendAsync(t.Context(), c, a)
	f.expectAdded(t, a)
	cctx, cancel := context.WithCancel(t.Context())
	rb := appendAsync(cctx, c, b)
	waitPending(t, c, 1)
	cancel()
	if r := <-rb; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled caller: %v, want context.Canceled", r.err)
	}
	f.finish(boom)
	if r := <-ra; !errors.Is(r.err, boom) {
		t.Fatalf("failed write: %v, want %v", r.err, boom)
	}
	// The cancelled caller's entry is still sequenced, as a Tessera
	// future's would be, and the write after a failure succeeds.
	f.expectAdded(t, b)
	f.finish(nil)
	d := &ctonly.Entry{}
	rd := appendAsync(t.Context(), c, d)
	f.expectAdded(t, d)
	f.finish(nil)
	if r := <-rd; r.err != nil {
		t.Fatalf("write after a failure: %v", r.err)
	}
}
