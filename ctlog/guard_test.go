package ctlog_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	f_log "github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/tessera/api/layout"

	"github.com/signetproject/signet/ctlog"
	"github.com/signetproject/signet/tlog"
)

// issue issues n certificates with SCTs from l, for identities from first
// on.
func issue(t *testing.T, f fixture, l *ctlog.Log, first, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = f.ca.IssueWithSCTs(t.Context(), identity(first+i), leafKey(t), l)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

func closeCT(t *testing.T, l *ctlog.Log) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, dir string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "ct")
	if err := os.CopyFS(dst, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// ctPopulated is a closed CT log of 6 entries, a copy of its directory
// taken at 3, and a fork: the copy at 3 grown by 3 other entries, signed
// by the same key.
type ctPopulated struct {
	f                fixture
	dir, at3, forked string
}

func populateCT(t *testing.T) ctPopulated {
	t.Helper()
	f := newFixture(t)
	dir := t.TempDir()
	l := openLog(t, dir, f.key, f.chain[1:])
	issue(t, f, l, 0, 3)
	closeCT(t, l)
	at3 := copyDir(t, dir)
	forked := copyDir(t, dir)
	l = openLog(t, dir, f.key, f.chain[1:])
	issue(t, f, l, 3, 3)
	closeCT(t, l)
	l = openLog(t, forked, f.key, f.chain[1:])
	issue(t, f, l, 100, 3)
	closeCT(t, l)
	for _, d := range []string{dir, forked} {
		if cp := readCTCheckpoint(t, d, f); cp.Size != 6 {
			t.Fatalf("populated log %s has %d entries, want 6", d, cp.Size)
		}
	}
	return ctPopulated{f: f, dir: dir, at3: at3, forked: forked}
}

// readCTCheckpoint reads and verifies the checkpoint stored in dir.
func readCTCheckpoint(t *testing.T, dir string, f fixture) *f_log.Checkpoint {
	t.Helper()
	vkey, err := ctlog.VerifierKey(origin, f.key.Public())
	if err != nil {
		t.Fatal(err)
	}
	v, err := fnote.NewRFC6962Verifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	cp, _, _, err := f_log.ParseCheckpoint(readFile(t, filepath.Join(dir, "checkpoint")), origin, v)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCTDamagedStateRefusesToOpen rolls back or damages the CT log's
// stored state, as a bad restore or a disk fault would, and checks that
// the log refuses to open with an integrity error rather than sign a
// checkpoint that contradicts one it published (tlog's
// TestDamagedStateRefusesToOpen for the CT log).
func TestCTDamagedStateRefusesToOpen(t *testing.T) {
	p := populateCT(t)
	edgeTile := layout.TilePath(0, 0, 6)
	edgeData := "tile/data/000.p/6"
	if _, err := os.Stat(filepath.Join(p.dir, edgeData)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   string
	}{
		{"rolled-back treeState", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, ".state/treeState"), readFile(t, filepath.Join(p.at3, ".state/treeState")))
		}, "smaller than"},
		{"restored older treeState and checkpoint", func(t *testing.T, dir string) {
			for _, f := range []string{".state/treeState", "checkpoint"} {
				writeFile(t, filepath.Join(dir, f), readFile(t, filepath.Join(p.at3, f)))
			}
		}, "smaller than"},
		{"published checkpoint of a forked tree", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "checkpoint"), readFile(t, filepath.Join(p.forked, "checkpoint")))
		}, "the published checkpoint has root"},
		{"forked treeState", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, ".state/treeState"), readFile(t, filepath.Join(p.forked, ".state/treeState")))
		}, "differs from"},
		{"flipped byte in the edge tile", func(t *testing.T, dir string) {
			b := readFile(t, filepath.Join(dir, edgeTile))
			b[40] ^= 1
			writeFile(t, filepath.Join(dir, edgeTile), b)
		}, "the tiles give root"},
		{"flipped byte in the edge data tile", func(t *testing.T, dir string) {
			b := readFile(t, filepath.Join(dir, edgeData))
			b[20] ^= 1 // in the first entry's issuer key hash
			writeFile(t, filepath.Join(dir, edgeData), b)
		}, "entry bundle"},
		{"truncated edge data tile", func(t *testing.T, dir string) {
			b := readFile(t, filepath.Join(dir, edgeData))
			writeFile(t, filepath.Join(dir, edgeData), b[:len(b)/2])
		}, "entry bundle"},
		{"checkpoint by another key", func(t *testing.T, dir string) {
			other := newFixture(t)
			od := t.TempDir()
			l := openLog(t, od, other.key, other.chain[1:])
			closeCT(t, l)
			writeFile(t, filepath.Join(dir, "checkpoint"), readFile(t, filepath.Join(od, "checkpoint")))
		}, "does not verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, p.dir)
			tc.damage(t, dir)
			before := readFile(t, filepath.Join(dir, "checkpoint"))
			l, err := tryOpenLog(t, dir, p.f.key, p.f.chain[1:])
			if err == nil {
				// Give a wrongly opened log the chance to publish.
				time.Sleep(300 * time.Millisecond)
				cp, _ := l.ReadCheckpoint(context.Background())
				t.Fatalf("the damaged log opened (checkpoint %q)", cp)
			}
			if !errors.Is(err, tlog.ErrIntegrity) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("open error = %v, want an integrity error containing %q", err, tc.want)
			}
			if after := readFile(t, filepath.Join(dir, "checkpoint")); !bytes.Equal(before, after) {
				t.Errorf("the refused log published a checkpoint:\n%s", after)
			}
		})
	}
	// The undamaged log opens.
	l, err := tryOpenLog(t, copyDir(t, p.dir), p.f.key, p.f.chain[1:])
	if err != nil {
		t.Fatalf("the undamaged log: %v", err)
	}
	if err := l.Health(t.Context()); err != nil {
		t.Fatalf("Health of the undamaged log: %v", err)
	}
}

// waitForSize waits until the published checkpoint commits to size
// entries.
func waitForSize(t *testing.T, l *ctlog.Log, size uint64) []byte {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		raw, err := l.ReadCheckpoint(t.Context())
		if err != nil {
			continue
		}
		var cp f_log.Checkpoint
		if _, err := cp.Unmarshal(raw[:bytes.Index(raw, []byte("\n\n"))+1]); err == nil && cp.Size == size {
			return raw
		}
	}
	t.Fatalf("no checkpoint of size %d within 10s", size)
	return nil
}

// TestCTGuardRefusesToSignAfterDamage damages the edge tile of a running
// CT log: the next checkpoint is not signed, the log says it is unhealthy
// and refuses to log more precertificates (no SCT is promised for an
// entry no checkpoint will commit to).
func TestCTGuardRefusesToSignAfterDamage(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	dir := t.TempDir()
	l := openLog(t, dir, f.key, f.chain[1:])
	issue(t, f, l, 0, 3)
	before := waitForSize(t, l, 3)
	if err := l.Health(ctx); err != nil {
		t.Fatalf("Health before the damage: %v", err)
	}
	path := filepath.Join(dir, layout.TilePath(0, 0, 3))
	b := readFile(t, path)
	b[40] ^= 1
	writeFile(t, path, b)

	// This entry is sequenced (its SCT may be returned) but the
	// checkpoint that would commit to it is refused.
	_, _ = f.ca.IssueWithSCTs(ctx, identity(3), leafKey(t), l)
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if err = l.Health(ctx); err != nil {
			break
		}
	}
	if !errors.Is(err, tlog.ErrIntegrity) {
		t.Fatalf("Health after the damage = %v, want an integrity error", err)
	}
	if err := l.Ready(ctx); !errors.Is(err, tlog.ErrIntegrity) {
		t.Errorf("Ready after the damage = %v, want an integrity error", err)
	}
	if n := l.IntegrityFailures(); n == 0 {
		t.Error("IntegrityFailures = 0 after the damage")
	}
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := f.ca.IssueWithSCTs(actx, identity(4), leafKey(t), l); !errors.Is(err, tlog.ErrIntegrity) {
		t.Fatalf("issuing after the damage = %v, want an integrity error", err)
	}
	time.Sleep(300 * time.Millisecond) // past a checkpoint interval
	if got := readFile(t, filepath.Join(dir, "checkpoint")); !bytes.Equal(got, before) {
		t.Fatalf("published checkpoint after the damage:\n%s\nwant the one before:\n%s", got, before)
	}
}

// TestCTServedTilesAreChecked damages the stored tiles of a CT log: they
// are not served (tlog's TestServedTilesAreChecked for the CT log).
func TestCTServedTilesAreChecked(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	dir := t.TempDir()
	l := openLog(t, dir, f.key, f.chain[1:])
	issue(t, f, l, 0, 3)
	waitForSize(t, l, 3)
	for _, tc := range []struct {
		name string
		path string
		at   int
		read func() ([]byte, error)
	}{
		{"hash tile", layout.TilePath(0, 0, 3), 40, func() ([]byte, error) { return l.ReadTile(ctx, 0, 0, 3) }},
		{"data tile", "tile/data/000.p/3", 20, func() ([]byte, error) { return l.ReadEntryBundle(ctx, 0, 3) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.path)
			good, err := tc.read()
			if err != nil || !bytes.Equal(good, readFile(t, path)) {
				t.Fatalf("read = %d bytes, %v; want the stored %s", len(good), err, tc.path)
			}
			bad := bytes.Clone(good)
			bad[tc.at] ^= 1
			writeFile(t, path, bad)
			if got, err := tc.read(); !errors.Is(err, tlog.ErrIntegrity) {
				t.Fatalf("read of the damaged %s = %d bytes, %v; want an integrity error", tc.path, len(got), err)
			}
			writeFile(t, path, good)
			if got, err := tc.read(); err != nil || !bytes.Equal(got, good) {
				t.Fatalf("read after repair = %d bytes, %v", len(got), err)
			}
		})
	}
	// Tiles beyond the checkpoint are missing, not served.
	if _, err := l.ReadTile(ctx, 0, 0, 4); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadTile(0, 0, 4) = %v, want not found", err)
	}
	if _, err := l.ReadEntryBundle(ctx, 0, 4); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadEntryBundle(0, 4) = %v, want not found", err)
	}
}
