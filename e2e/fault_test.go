//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"

	"github.com/signetproject/signet/sign"
)

// treeHead is the unsigned part of a checkpoint.
type treeHead struct {
	size uint64
	root []byte
}

func parseTreeHead(t *testing.T, raw string) treeHead {
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
	return treeHead{size, root}
}

// acked is an entry a log acknowledged to a client.
type acked struct {
	v1    bool
	index uint64
	leaf  []byte // RFC 6962 leaf hash of the canonicalized body
}

// campaign records what clients were told while the server was killed
// again and again.
type campaign struct {
	mu    sync.Mutex
	acked []acked
	seen  []treeHead // Rekor v2 checkpoints in acknowledgements
}

// load appends from v2 Rekor v2 and 2 Rekor v1 clients until ctx ends.
func (c *campaign) load(ctx context.Context, t *testing.T, base string, v2clients int) *sync.WaitGroup {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, _ := x509.MarshalPKIXPublicKey(key.Public())
	hc := &http.Client{Timeout: 10 * time.Second}
	v2 := &sign.RekorV2{BaseURL: base, Client: hc}
	v1 := &sign.RekorV1{BaseURL: base, Client: hc}
	var wg sync.WaitGroup
	for i := range v2clients + 2 {
		wg.Go(func() {
			for ctx.Err() == nil {
				d := make([]byte, 32)
				_, _ = rand.Read(d)
				sig, err := ecdsa.SignASN1(rand.Reader, key, d)
				if err != nil {
					return
				}
				e := sign.Entry{Signature: sig, Digest: d, PublicKey: pub, KeyDetails: 5}
				var tle *protorekor.TransparencyLogEntry
				if i < v2clients {
					tle, err = v2.Log(ctx, e)
				} else {
					tle, err = v1.Log(ctx, e)
				}
				if err != nil {
					continue // not acknowledged: may or may not be in the log
				}
				a := acked{v1: i >= v2clients, index: uint64(tle.GetLogIndex()), leaf: rfc6962.DefaultHasher.HashLeaf(tle.GetCanonicalizedBody())}
				c.mu.Lock()
				c.acked = append(c.acked, a)
				if !a.v1 {
					c.seen = append(c.seen, parseTreeHead(t, tle.GetInclusionProof().GetCheckpoint().GetEnvelope()))
				}
				c.mu.Unlock()
			}
		})
	}
	return &wg
}

// killRound starts the server on dir, loads it with v2clients Rekor v2
// clients for d and kills it with SIGKILL at that instant.
func (c *campaign) killRound(t *testing.T, dir string, v2clients int, d time.Duration) {
	t.Helper()
	srv, err := startServer(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	wg := c.load(ctx, t, srv.url, v2clients)
	time.Sleep(d)
	_ = srv.cmd.Process.Signal(syscall.SIGKILL)
	<-srv.done
	stop()
	wg.Wait()
}

// check proves, against the running server, that every acknowledged entry
// is in its logs and every checkpoint seen is consistent with its current
// one, and returns that checkpoint.
func (c *campaign) check(t *testing.T, base string) treeHead {
	t.Helper()
	ctx := context.Background()
	u, _ := url.Parse(base + "/")
	f, err := client.NewHTTPFetcher(u, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := f.ReadCheckpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := parseTreeHead(t, string(raw))
	pb, err := client.NewProofBuilder(ctx, now.size, f.ReadTile)
	if err != nil {
		t.Fatal(err)
	}
	lost := 0
	for _, a := range c.acked {
		if a.v1 {
			if got := v1LeafAt(t, base, a.index); !bytes.Equal(got, a.leaf) {
				t.Errorf("acknowledged Rekor v1 entry %d: leaf %x, want %x", a.index, got, a.leaf)
				lost++
			}
			continue
		}
		if a.index >= now.size {
			t.Errorf("acknowledged entry %d is beyond the log's size %d", a.index, now.size)
			lost++
			continue
		}
		p, err := pb.InclusionProof(ctx, a.index)
		if err == nil {
			err = proof.VerifyInclusion(rfc6962.DefaultHasher, a.index, now.size, a.leaf, p, now.root)
		}
		if err != nil {
			t.Errorf("acknowledged entry %d lost or changed: %v", a.index, err)
			lost++
		}
	}
	for _, old := range c.seen {
		if err := consistent(ctx, pb, old, now); err != nil {
			t.Errorf("checkpoint of size %d seen by a client: %v", old.size, err)
		}
	}
	if lost > 0 {
		t.Fatalf("%d acknowledged entries lost", lost)
	}
	return now
}

// consistent proves that the tree old is a prefix of now.
func consistent(ctx context.Context, pb *client.ProofBuilder, old, now treeHead) error {
	switch {
	case old.size > now.size:
		return fmt.Errorf("larger than the current tree of %d", now.size)
	case old.size == now.size && !bytes.Equal(old.root, now.root):
		return fmt.Errorf("same size as the current tree, another root")
	case old.size == 0 || old.size == now.size:
		return nil
	}
	p, err := pb.ConsistencyProof(ctx, old.size, now.size)
	if err != nil {
		return err
	}
	return proof.VerifyConsistency(rfc6962.DefaultHasher, old.size, now.size, p, old.root, now.root)
}

// v1LeafAt returns the leaf hash of the Rekor v1 entry at index (its UUID).
func v1LeafAt(t *testing.T, base string, index uint64) []byte {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("%s/api/v1/log/entries?logIndex=%d", base, index))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]json.RawMessage
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&m) != nil || len(m) != 1 {
		return nil
	}
	for id := range m {
		// The entry ID: a 16-digit tree ID, then the UUID (the leaf hash).
		leaf, _ := hex.DecodeString(id[max(0, len(id)-64):])
		return leaf
	}
	return nil
}

// TestFaultInjection kills the server with SIGKILL under load, again and
// again (the kill -9 campaign), then damages or rolls back each state file
// of copies of the resulting data directory and starts the server on each:
// it must refuse to start, or serve only correct data, and no checkpoint it
// signs may be inconsistent with one a client saw before.
func TestFaultInjection(t *testing.T) {
	kills := 10
	if n, err := strconv.Atoi(os.Getenv("SIGNET_E2E_KILLS")); err == nil && n > 0 {
		kills = n
	}
	work := filepath.Join(env.workDir, "fault")
	dir := filepath.Join(work, "data")
	old := filepath.Join(work, "old") // a copy taken halfway
	c := &campaign{}
	for round := range kills {
		// Each round kills a server under a different load at a random
		// instant; the last, heavier, makes the log span full tiles.
		clients, d := 8, time.Duration(300+int(randN(900)))*time.Millisecond
		if round == kills-1 {
			clients, d = 64, 3*time.Second
		}
		c.killRound(t, dir, clients, d)
		if round == kills/2 {
			copyDir(t, dir, old)
		}
	}
	if len(c.acked) == 0 {
		t.Fatal("no entry was acknowledged")
	}
	// The golden state: checked against everything clients were told, and
	// left with a partial edge tile (damage to a full tile is the served-
	// tile check's, below), so a few more entries go in when the tree
	// state the server left ends on a tile boundary.
	var golden treeHead
	var edgeSize uint64 // the tree state's size: the published checkpoint may lag it
	for attempt := 0; ; attempt++ {
		srv, err := startServer(dir)
		if err != nil {
			t.Fatal(err)
		}
		golden = c.check(t, srv.url)
		if err := srv.stop(); err != nil {
			t.Fatal(err)
		}
		if edgeSize = treeStateSize(t, filepath.Join(dir, "log")); edgeSize%256 != 0 {
			break
		}
		if attempt == 3 {
			t.Fatalf("the tree state stays on a tile boundary (size %d)", edgeSize)
		}
		if srv, err = startServer(dir); err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		wg := c.load(ctx, t, srv.url, 1)
		time.Sleep(200 * time.Millisecond)
		stop()
		wg.Wait()
		if err := srv.stop(); err != nil {
			t.Fatal(err)
		}
	}
	var v1 int
	for _, a := range c.acked {
		if a.v1 {
			v1++
		}
	}
	t.Logf("kill -9 campaign: %d kills under load, %d acknowledged entries (%d Rekor v2, %d Rekor v1), %d checkpoints seen, lost 0; log size %d",
		kills, len(c.acked), len(c.acked)-v1, v1, len(c.seen), golden.size)
	if out, err := exec.Command(env.signetBin, "log", "verify", "--data-dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("signet log verify after the campaign: %v\n%s", err, out)
	}

	// The edge resources of the golden Rekor v2 log, and a full tile and
	// bundle if the log has one.
	edgeTile := layout.TilePath(0, (edgeSize-1)/256, uint8(edgeSize%256))
	edgeBundle := layout.EntriesPath((edgeSize-1)/256, uint8(edgeSize%256))
	fullTile, fullBundle := "", ""
	if edgeSize >= 256 {
		fullTile, fullBundle = layout.TilePath(0, 0, 0), layout.EntriesPath(0, 0)
	}
	v1Tiles := filepath.Join("rekor-v1", "tiles")

	type fault struct {
		name    string
		damage  func(t *testing.T, dir string)
		refuse  bool   // else: it starts, serves only correct data, and stays consistent
		damaged string // with !refuse: a resource that must not be served
	}
	rollback := func(files ...string) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			for _, f := range files {
				copyFile(t, filepath.Join(old, f), filepath.Join(dir, f))
			}
		}
	}
	overwrite := func(file string, data []byte) func(*testing.T, string) {
		return func(t *testing.T, dir string) { writeBytes(t, filepath.Join(dir, file), data) }
	}
	edit := func(file string, f func([]byte) []byte) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			b, err := os.ReadFile(filepath.Join(dir, file))
			if err != nil {
				t.Fatal(err)
			}
			writeBytes(t, filepath.Join(dir, file), f(b))
		}
	}
	remove := func(file string) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, file)); err != nil {
				t.Fatal(err)
			}
		}
	}
	flip := func(b []byte) []byte { b[len(b)/2] ^= 1; return b }
	faults := []fault{
		{name: "rolled-back treeState", damage: rollback("log/.state/treeState"), refuse: true},
		{name: "rolled-back treeState and checkpoint", damage: rollback("log/.state/treeState", "log/checkpoint"), refuse: true},
		{name: "garbage treeState", damage: overwrite("log/.state/treeState", []byte(`{"size":5,"root":"AAAA"}`)), refuse: true},
		{name: "unparsable treeState", damage: overwrite("log/.state/treeState", []byte(`{"si`)), refuse: true},
		{name: "garbage checkpoint", damage: overwrite("log/checkpoint", []byte("garbage\n")), refuse: true},
		{name: "flipped byte in the edge tile", damage: edit("log/"+edgeTile, flip), refuse: true},
		{name: "truncated edge entry bundle", damage: edit("log/"+edgeBundle, func(b []byte) []byte { return b[:len(b)/2] }), refuse: true},
		// Tessera reads a full bundle where the partial one is missing, and
		// a crash may have left one from an integration it never recorded:
		// both go.
		{name: "missing edge entry bundle", damage: func(t *testing.T, dir string) {
			remove("log/"+edgeBundle)(t, dir)
			if err := os.Remove(filepath.Join(dir, "log", layout.EntriesPath((edgeSize-1)/256, 0))); err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Fatal(err)
			}
		}, refuse: true},
		{name: "rolled-back Rekor v1 treeState", damage: rollback(v1Tiles + "/.state/treeState"), refuse: true},
		{name: "garbage Rekor v1 checkpoint", damage: overwrite(v1Tiles+"/checkpoint", []byte("garbage\n")), refuse: true},
		{name: "rolled-back signed-checkpoint record", damage: rollback("log/.signet/signed-checkpoint")},
		{name: "missing signed-checkpoint record", damage: remove("log/.signet/signed-checkpoint")},
		{name: "garbage signed-checkpoint record", damage: overwrite("log/.signet/signed-checkpoint", []byte("garbage"))},
		{name: "rolled-back checkpoint", damage: rollback("log/checkpoint")},
		{name: "missing checkpoint", damage: remove("log/checkpoint")},
	}
	if fullTile != "" {
		faults = append(faults,
			fault{name: "truncated full tile", damage: edit("log/"+fullTile, func(b []byte) []byte { return b[:len(b)-32] }), damaged: "/" + fullTile},
			fault{name: "flipped byte in a full entry bundle", damage: edit("log/"+fullBundle, flip), damaged: "/" + fullBundle})
	}
	refused, started := 0, 0
	for i, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			fdir := filepath.Join(work, fmt.Sprintf("fault-%d", i))
			copyDir(t, dir, fdir)
			f.damage(t, fdir)
			before := snapshot(fdir)
			srv, err := startServer(fdir)
			if f.refuse {
				if err == nil {
					_ = srv.stop()
					t.Fatal("the server started on the damaged data directory")
				}
				if !strings.Contains(err.Error(), "integrity failure") {
					t.Errorf("refusal does not name an integrity failure: %.600s", err)
				}
				if after := snapshot(fdir); after != before {
					t.Errorf("the refused server wrote to its logs' checkpoints or records:\nbefore %s\nafter  %s", before, after)
				}
				refused++
				return
			}
			if err != nil {
				t.Fatalf("the server refused a recoverable state: %v", err)
			}
			defer func() { _ = srv.stop() }()
			started++
			if f.damaged != "" {
				resp, err := http.Get(srv.url + f.damaged)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 || strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
					t.Errorf("GET %s of a damaged resource = %d (%s), %d bytes", f.damaged, resp.StatusCode, resp.Header.Get("Cache-Control"), len(body))
				}
			}
			// Appends work, and everything a client saw before stays
			// consistent with what the server signs now.
			ctx, stop := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			more := &campaign{}
			more.load(ctx, t, srv.url, 8).Wait()
			stop()
			if len(more.acked) == 0 {
				t.Fatal("no append was acknowledged")
			}
			more.seen = append(more.seen, c.seen...)
			if f.damaged == "" {
				more.check(t, srv.url)
			} else {
				// Proofs may need the damaged tile, which is not served:
				// prove from the checkpoints only what can be proven.
				checkSizes(t, srv.url, more.seen)
			}
		})
	}
	t.Logf("fault injection: %d damaged states refused at start, %d recoverable states started and stayed consistent", refused, started)
}

// checkSizes checks that no checkpoint seen is larger than the server's.
func checkSizes(t *testing.T, base string, seen []treeHead) {
	t.Helper()
	resp, err := http.Get(base + "/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	now := parseTreeHead(t, string(raw))
	for _, s := range seen {
		if s.size > now.size || (s.size == now.size && !bytes.Equal(s.root, now.root)) {
			t.Errorf("checkpoint of size %d seen before contradicts the server's (%d)", s.size, now.size)
		}
	}
}

// snapshot summarizes the files a server writes when it signs: the logs'
// checkpoints and signed-checkpoint records.
func snapshot(dir string) string {
	var b strings.Builder
	for _, f := range []string{"log/checkpoint", "log/.signet/signed-checkpoint", "rekor-v1/tiles/checkpoint", "rekor-v1/tiles/.signet/signed-checkpoint"} {
		data, _ := os.ReadFile(filepath.Join(dir, f))
		sum := sha256.Sum256(data)
		fmt.Fprintf(&b, "%s=%x ", f, sum[:4])
	}
	return b.String()
}

// copyDir copies the directory tree from to to, keeping file modes (the
// server refuses keys readable by others).
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), info.Mode().Perm())
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeBytes(t, to, data)
}

func writeBytes(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func randN(n int64) int64 {
	v, _ := rand.Int(rand.Reader, big.NewInt(n))
	return v.Int64()
}

// treeStateSize reads the size of the tree Tessera integrated in the POSIX
// log directory logDir (its .state/treeState).
func treeStateSize(t *testing.T, logDir string) uint64 {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(logDir, ".state", "treeState"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Size uint64 `json:"size"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatalf("%s/.state/treeState: %v", logDir, err)
	}
	return st.Size
}
