package tlog

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/signetproject/signet/tlog/storage"
	"github.com/transparency-dev/merkle/rfc6962"
)

const (
	crashDirEnv  = "SIGNET_TLOG_CRASH_DIR"
	crashSeedEnv = "SIGNET_TLOG_CRASH_SEED"
)

// TestCrashHelper is the child process of TestAcknowledgedEntriesSurviveKill:
// it appends entries until it is killed and prints each acknowledged one.
func TestCrashHelper(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("only runs as the child of TestAcknowledgedEntriesSurviveKill")
	}
	seed, err := hex.DecodeString(os.Getenv(crashSeedEnv))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d, err := storage.NewPOSIX(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(ctx, d, testOrigin, ed25519.NewKeyFromSeed(seed), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	s := newTestSigner(t)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for c := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				tle, err := l.Append(ctx, s.HashedRekord(t, fmt.Appendf(nil, "crash %d %d", c, i), s.CertVerifier()))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				fmt.Printf("ACK %d %x\n", tle.GetLogIndex(), rfc6962.DefaultHasher.HashLeaf(tle.GetCanonicalizedBody()))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestAcknowledgedEntriesSurviveKill kills a process appending to the log with
// SIGKILL and checks that every entry it acknowledged is in the reopened log.
func TestAcknowledgedEntriesSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashSeedEnv+"="+hex.EncodeToString(seed))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acks := map[uint64]string{}
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(60 * time.Second)
	for len(acks) < 60 && time.Now().Before(deadline) && sc.Scan() {
		var idx uint64
		var leaf string
		if _, err := fmt.Sscanf(sc.Text(), "ACK %d %s", &idx, &leaf); err == nil {
			acks[idx] = leaf
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	// Lines already written before the kill were acknowledged too.
	for sc.Scan() {
		var idx uint64
		var leaf string
		if _, err := fmt.Sscanf(sc.Text(), "ACK %d %s", &idx, &leaf); err == nil {
			acks[idx] = leaf
		}
	}
	_ = cmd.Wait() // killed: the error is expected
	if len(acks) < 60 {
		t.Fatalf("child acknowledged only %d entries", len(acks))
	}

	ctx := context.Background()
	l := openTestLog(t, dir, ed25519.NewKeyFromSeed(seed), DefaultOptions())
	cp, _, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for idx, leaf := range acks {
		if idx >= cp.Size {
			t.Errorf("acknowledged entry %d is beyond the reopened checkpoint (size %d)", idx, cp.Size)
			continue
		}
		tle, err := l.EntryAt(ctx, idx)
		if err != nil {
			t.Errorf("acknowledged entry %d: %v", idx, err)
			continue
		}
		if got := fmt.Sprintf("%x", rfc6962.DefaultHasher.HashLeaf(tle.GetCanonicalizedBody())); got != leaf {
			t.Errorf("acknowledged entry %d has leaf %s, want %s", idx, got, leaf)
		}
		checkEntry(t, l, tle)
	}
	s := newTestSigner(t)
	tle, err := l.Append(ctx, s.HashedRekord(t, []byte("after the crash"), s.CertVerifier()))
	if err != nil {
		t.Fatal(err)
	}
	if uint64(tle.GetLogIndex()) < cp.Size {
		t.Errorf("entry appended after the crash got index %d inside the old tree of %d", tle.GetLogIndex(), cp.Size)
	}
	checkEntry(t, l, tle)
	t.Logf("%d acknowledged entries survived SIGKILL; tree size after restart %d", len(acks), cp.Size)
}
