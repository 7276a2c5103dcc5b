package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/client"

	"github.com/signetproject/signet/internal/freeport"
	"github.com/signetproject/signet/sign"
)

// checkpoint is the unsigned body of a tlog checkpoint.
type checkpoint struct {
	size uint64
	root []byte
}

func parseCheckpoint(t *testing.T, raw string) checkpoint {
	t.Helper()
	lines := strings.SplitN(raw, "\n", 4)
	if len(lines) < 3 {
		t.Fatalf("malformed checkpoint %q", raw)
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		t.Fatalf("checkpoint size %q: %v", lines[1], err)
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil {
		t.Fatalf("checkpoint root %q: %v", lines[2], err)
	}
	return checkpoint{size, root}
}

// startKillable starts `signet server` on a fixed data dir and port and
// returns the running command.
func startKillable(t *testing.T, bin, dir, addr string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "server", "--dev", "--addr", addr, "--data-dir", dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() {
		_ = cmd.Process.Kill()
		t.Fatal("server printed nothing")
	}
	first := sc.Text() // before the goroutine scans on
	go func() {
		for sc.Scan() {
		}
	}()
	return cmd, strings.TrimPrefix(first, "signet server listening on ")
}

// TestCrashSafety kills the server with SIGKILL while clients append, three
// times, and proves that every entry acknowledged to a client is still in
// the log after restart and that each new checkpoint is consistent with
// every checkpoint served before.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts the server several times")
	}
	bin := buildSignet(t)
	dir := t.TempDir()
	port := freeport.Get(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, _ := x509.MarshalPKIXPublicKey(key.Public())

	var (
		mu    sync.Mutex
		acked []*protorekor.TransparencyLogEntry
		seen  []checkpoint
	)
	for round := 0; round < 3; round++ {
		cmd, base := startKillable(t, bin, dir, addr)
		log := &sign.RekorV2{BaseURL: base, Client: &http.Client{Timeout: 10 * time.Second}}
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					pb, err := sign.Digest(ctx, randomBytes(32), sign.Options{Key: key, UnsafeNoTlog: true})
					if err != nil {
						return
					}
					ms := pb.GetMessageSignature()
					tle, err := log.Log(ctx, sign.Entry{Signature: ms.GetSignature(), Digest: ms.GetMessageDigest().GetDigest(), PublicKey: pub, KeyDetails: 5})
					if err != nil {
						continue // not acknowledged: may or may not be in the log
					}
					mu.Lock()
					acked = append(acked, tle)
					seen = append(seen, parseCheckpoint(t, string(tle.GetInclusionProof().GetCheckpoint().GetEnvelope())))
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(700+round*300) * time.Millisecond)
		_ = cmd.Process.Kill() // SIGKILL at an arbitrary instant
		_ = cmd.Wait()
		stop()
		wg.Wait()
	}
	if len(acked) == 0 {
		t.Fatal("no entry was acknowledged before the kills")
	}

	// Restart once more and check everything against the new checkpoint.
	cmd, base := startKillable(t, bin, dir, addr)
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	u, _ := url.Parse(base + "/")
	fetcher, err := client.NewHTTPFetcher(u, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var now checkpoint
	deadline := time.Now().Add(10 * time.Second)
	for {
		raw, err := fetcher.ReadCheckpoint(ctx)
		if err == nil {
			now = parseCheckpoint(t, string(raw))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint after restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	pb, err := client.NewProofBuilder(ctx, now.size, fetcher.ReadTile)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range acked {
		idx := uint64(e.GetLogIndex())
		if idx >= now.size {
			t.Fatalf("acknowledged entry %d is beyond the restarted log's size %d", idx, now.size)
		}
		p, err := pb.InclusionProof(ctx, idx)
		if err != nil {
			t.Fatalf("inclusion proof for %d: %v", idx, err)
		}
		leaf := rfc6962.DefaultHasher.HashLeaf(e.GetCanonicalizedBody())
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, idx, now.size, leaf, p, now.root); err != nil {
			t.Fatalf("acknowledged entry %d lost or changed after kill -9: %v", idx, err)
		}
	}
	for _, old := range seen {
		if old.size > now.size {
			t.Fatalf("served checkpoint size %d > restarted size %d", old.size, now.size)
		}
		if old.size == 0 || old.size == now.size {
			continue
		}
		p, err := pb.ConsistencyProof(ctx, old.size, now.size)
		if err != nil {
			t.Fatalf("consistency proof %d→%d: %v", old.size, now.size, err)
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, old.size, now.size, p, old.root, now.root); err != nil {
			t.Fatalf("checkpoint of size %d served before a crash is inconsistent with the log after restart: %v", old.size, err)
		}
	}
	t.Logf("%d acknowledged entries and %d served checkpoints survived 3 kill -9s (log size %d)", len(acked), len(seen), now.size)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
