package ctlog

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// TestDedupSequence: what the deduplication memory does with failures,
// concurrent submissions and its bound.
func TestDedupSequence(t *testing.T) {
	ctx := t.Context()
	a := leafID{1}
	calls := 0
	give := func(st stamp, err error) func() (stamp, error) {
		return func() (stamp, error) { calls++; return st, err }
	}

	t.Run("a failed entry is not remembered", func(t *testing.T) {
		d, calls0 := newDedup(4), calls
		boom := errors.New("boom")
		if _, _, err := d.sequence(ctx, a, give(stamp{}, boom)); !errors.Is(err, boom) {
			t.Fatalf("failed add: %v", err)
		}
		if st, dup, err := d.sequence(ctx, a, give(stamp{5, 6}, nil)); err != nil || dup || st != (stamp{5, 6}) {
			t.Fatalf("after a failure: %v %v %v, want a new entry", st, dup, err)
		}
		if st, dup, err := d.sequence(ctx, a, give(stamp{7, 8}, nil)); err != nil || !dup || st != (stamp{5, 6}) {
			t.Fatalf("resubmission: %v %v %v, want the remembered entry", st, dup, err)
		}
		if calls-calls0 != 2 {
			t.Fatalf("add called %d times, want 2", calls-calls0)
		}
	})

	t.Run("a waiter gets the first submission's entry", func(t *testing.T) {
		d := newDedup(4)
		release, started := make(chan struct{}), make(chan struct{})
		firstDone := make(chan stamp)
		go func() {
			st, _, _ := d.sequence(ctx, a, func() (stamp, error) { close(started); <-release; return stamp{1, 2}, nil })
			firstDone <- st
		}()
		<-started
		got := make(chan error, 1)
		go func() {
			st, dup, err := d.sequence(ctx, a, func() (stamp, error) { return stamp{3, 4}, nil })
			if err == nil && (!dup || st != (stamp{1, 2})) {
				err = errors.New("the waiter did not get the first entry")
			}
			got <- err
		}()
		waitWaiters(t, d, a, 1)
		close(release)
		if st := <-firstDone; st != (stamp{1, 2}) {
			t.Fatalf("first: %v", st)
		}
		if err := <-got; err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a waiter fails as the first submission did", func(t *testing.T) {
		d := newDedup(4)
		boom := errors.New("pushback")
		release, started := make(chan struct{}), make(chan struct{})
		go func() {
			_, _, _ = d.sequence(ctx, a, func() (stamp, error) { close(started); <-release; return stamp{}, boom })
		}()
		<-started
		got := make(chan error, 1)
		go func() {
			_, _, err := d.sequence(ctx, a, func() (stamp, error) { return stamp{3, 4}, nil })
			got <- err
		}()
		waitWaiters(t, d, a, 1)
		close(release)
		if err := <-got; !errors.Is(err, boom) {
			t.Fatalf("waiter: %v, want the first submission's error", err)
		}
	})

	t.Run("a waiter tries itself when the first submission's client went away", func(t *testing.T) {
		d := newDedup(4)
		release, started := make(chan struct{}), make(chan struct{})
		go func() {
			_, _, _ = d.sequence(ctx, a, func() (stamp, error) { close(started); <-release; return stamp{}, context.Canceled })
		}()
		<-started
		got := make(chan error, 1)
		go func() {
			st, dup, err := d.sequence(ctx, a, func() (stamp, error) { return stamp{3, 4}, nil })
			if err == nil && (dup || st != (stamp{3, 4})) {
				err = errors.New("the waiter did not log the entry itself")
			}
			got <- err
		}()
		waitWaiters(t, d, a, 1)
		close(release)
		if err := <-got; err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a waiter whose client goes away stops waiting", func(t *testing.T) {
		d := newDedup(4)
		release, started := make(chan struct{}), make(chan struct{})
		defer close(release)
		go func() {
			_, _, _ = d.sequence(ctx, a, func() (stamp, error) { close(started); <-release; return stamp{1, 2}, nil })
		}()
		<-started
		wctx, cancel := context.WithCancel(ctx)
		cancel()
		got := make(chan error, 1)
		go func() {
			_, _, err := d.sequence(wctx, a, func() (stamp, error) { return stamp{3, 4}, nil })
			got <- err
		}()
		select {
		case err := <-got:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("waiter with a cancelled context: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a waiter with a cancelled context still waits after 10s")
		}
	})

	t.Run("bounded: two generations", func(t *testing.T) {
		d := newDedup(2)
		for i := range 5 {
			if _, _, err := d.sequence(ctx, leafID{10 + byte(i)}, give(stamp{uint64(i), 0}, nil)); err != nil {
				t.Fatal(err)
			}
			if n := d.len(); n > 4 {
				t.Fatalf("remembers %d entries, at most 4", n)
			}
		}
		// 10, 11 were dropped with the old generation; 12–14 are kept.
		d.mu.Lock()
		defer d.mu.Unlock()
		for i, want := range []bool{false, false, true, true, true} {
			if _, ok := d.lookup(leafID{10 + byte(i)}); ok != want {
				t.Errorf("entry %d remembered: %v, want %v", i, ok, want)
			}
		}
	})
}

// waitWaiters waits until a submission of id is pending with n others
// waiting for it.
func waitWaiters(t *testing.T, d *dedup, id leafID, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		d.mu.Lock()
		p := d.pending[id]
		ok := p != nil && p.waiters == n
		d.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no submission pending with %d waiting for it", n)
		}
		runtime.Gosched()
	}
}
