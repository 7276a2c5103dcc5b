package tlog

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signetproject/signet/tlog/internal/guard"
	"github.com/signetproject/signet/tlog/storage"
	f_log "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"
)

// fillLog appends n entries at once (one or a few batches) and returns
// the checkpoint of the last append.
func fillLog(t *testing.T, l *Log, s *testSigner, prefix string, n int) *f_log.Checkpoint {
	t.Helper()
	entries := appendConcurrently(t, l, s, prefix, n, 1)
	var last *f_log.Checkpoint
	for _, e := range entries {
		if cp := checkEntry(t, l, e); last == nil || cp.Size > last.Size {
			last = cp
		}
	}
	return last
}

// closeLog closes l now (openTestLog's cleanup closes it again, a no-op).
func closeLog(t *testing.T, l *Log) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// reopen opens the POSIX log in dir, without failing the test.
func reopen(t *testing.T, dir string, key crypto.Signer) (*Log, error) {
	t.Helper()
	ctx := context.Background()
	d, err := storage.NewPOSIX(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(ctx, d, testOrigin, key, DefaultOptions())
	if err == nil {
		t.Cleanup(func() { _ = l.Close(context.Background()) })
	}
	return l, err
}

// populated is a closed log of 300 entries (one full tile and bundle, a
// partial one of 44) and a copy of its directory taken at 100 entries.
type populated struct {
	dir, at100 string
	key        crypto.Signer
	cp         *f_log.Checkpoint // the last checkpoint
	cpRaw      []byte
}

func populate(t *testing.T) populated {
	t.Helper()
	dir, key, s := t.TempDir(), newLogKey(t), newTestSigner(t)
	l := openTestLog(t, dir, key, DefaultOptions())
	fillLog(t, l, s, "first", 100)
	closeLog(t, l)
	at100 := filepath.Join(t.TempDir(), "log")
	if err := os.CopyFS(at100, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	l = openTestLog(t, dir, key, DefaultOptions())
	fillLog(t, l, s, "second", 200)
	cp, raw, err := l.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	closeLog(t, l)
	if cp.Size != 300 {
		t.Fatalf("populated log has %d entries, want 300", cp.Size)
	}
	return populated{dir: dir, at100: at100, key: key, cp: cp, cpRaw: raw}
}

// TestDamagedStateRefusesToOpen damages or rolls back each file of a log
// directory, as a bad restore, a disk fault or an operator would, and
// checks that the log refuses to open with an integrity error naming the
// problem, rather than signing a checkpoint that contradicts one it
// published.
func TestDamagedStateRefusesToOpen(t *testing.T) {
	p := populate(t)
	edgeTile := layout.TilePath(0, 1, 44)
	edgeBundle := layout.EntriesPath(1, 44)
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   string
	}{
		{"rolled-back treeState", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, ".state/treeState"), readFile(t, filepath.Join(p.at100, ".state/treeState")))
		}, "smaller than"},
		{"garbage treeState", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, ".state/treeState"), []byte(`{"size":5,"root":"AAAA"}`))
		}, "smaller than"},
		{"garbage treeState of the right size", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, ".state/treeState"), []byte(`{"size":300,"root":"AAAA"}`))
		}, "root hash of 3 bytes"},
		{"unparsable treeState", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, ".state/treeState"), []byte(`{"size":`))
		}, "tree state"},
		{"flipped byte in the edge tile", func(t *testing.T, dir string) {
			b := readFile(t, filepath.Join(dir, edgeTile))
			b[100] ^= 1
			writeFile(t, filepath.Join(dir, edgeTile), b)
		}, "the tiles give root"},
		{"truncated edge entry bundle", func(t *testing.T, dir string) {
			b := readFile(t, filepath.Join(dir, edgeBundle))
			writeFile(t, filepath.Join(dir, edgeBundle), b[:len(b)/2])
		}, "entry bundle tile/entries/001.p/44"},
		{"missing edge entry bundle", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, edgeBundle)); err != nil {
				t.Fatal(err)
			}
		}, "entry bundle tile/entries/001.p/44"},
		{"rolled-back treeState and tiles", func(t *testing.T, dir string) {
			for _, f := range []string{".state/treeState", "checkpoint"} {
				writeFile(t, filepath.Join(dir, f), readFile(t, filepath.Join(p.at100, f)))
			}
		}, "smaller than"},
		{"garbage published checkpoint", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "checkpoint"), []byte("log.signet.test\n300\nAAAA\n\n— log.signet.test AAAA\n"))
		}, "published checkpoint does not verify"},
		{"record of another tree", func(t *testing.T, dir string) {
			// A checkpoint validly signed by the log's key, for a tree
			// the stored state is not.
			writeFile(t, filepath.Join(dir, storage.SignedCheckpointFile), forkedCheckpoint(t, p))
		}, "the log signed"},
		{"published checkpoint of another tree", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "checkpoint"), forkedCheckpoint(t, p))
		}, "the published checkpoint has root"},
		{"no signed checkpoint for a non-empty tree", func(t *testing.T, dir string) {
			for _, f := range []string{"checkpoint", storage.SignedCheckpointFile} {
				if err := os.Remove(filepath.Join(dir, f)); err != nil {
					t.Fatal(err)
				}
			}
		}, "no signed checkpoint"},
		{"garbage record and no published checkpoint", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, storage.SignedCheckpointFile), []byte("garbage"))
			if err := os.Remove(filepath.Join(dir, "checkpoint")); err != nil {
				t.Fatal(err)
			}
		}, "record of the last signed one does not verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "log")
			if err := os.CopyFS(dir, os.DirFS(p.dir)); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, dir)
			before := readFileIfExists(filepath.Join(dir, "checkpoint"))
			l, err := reopen(t, dir, p.key)
			if err == nil {
				// Give a wrongly opened log the chance to publish.
				time.Sleep(300 * time.Millisecond)
				cp, _, _ := l.Checkpoint(context.Background())
				t.Fatalf("the damaged log opened (checkpoint %+v)", cp)
			}
			if !errors.Is(err, ErrIntegrity) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("open error = %v, want an integrity error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("open error spans lines: %q", err)
			}
			if after := readFileIfExists(filepath.Join(dir, "checkpoint")); !bytes.Equal(before, after) {
				t.Errorf("the refused log published a checkpoint:\n%s", after)
			}
		})
	}
}

// forkedCheckpoint is a checkpoint validly signed by p's key for a tree of
// p's size with another root: what a forked history leaves behind.
func forkedCheckpoint(t *testing.T, p populated) []byte {
	t.Helper()
	ns := mustNoteSigner(t, p.key)
	msg := f_log.Checkpoint{Origin: testOrigin, Size: p.cp.Size, Hash: bytes.Repeat([]byte{7}, 32)}.Marshal()
	return guard.SignedNote(msg, ns, mustSign(t, ns, string(msg)))
}

func readFileIfExists(path string) []byte {
	b, _ := os.ReadFile(path)
	return b
}

func mustNoteSigner(t *testing.T, key crypto.Signer) *noteSigner {
	t.Helper()
	s, _, err := newNoteSigner(testOrigin, key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustSign(t *testing.T, s *noteSigner, msg string) []byte {
	t.Helper()
	sig, err := s.Sign([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// TestRecoverableStateOpens checks the states a crash or an upgrade leave,
// which the log must accept: a signed-checkpoint record rolled back or
// missing (the published checkpoint, signed by the log, takes its place),
// and a published checkpoint behind the record (a crash between the two
// writes).
func TestRecoverableStateOpens(t *testing.T) {
	p := populate(t)
	s := newTestSigner(t)
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, dir string)
	}{
		{"unchanged", func(*testing.T, string) {}},
		{"record rolled back", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, storage.SignedCheckpointFile), readFile(t, filepath.Join(p.at100, storage.SignedCheckpointFile)))
		}},
		{"garbage record (a write cut short by a power loss)", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, storage.SignedCheckpointFile), []byte("garbage"))
		}},
		{"no record (upgrade)", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, storage.SignedCheckpointFile)); err != nil {
				t.Fatal(err)
			}
		}},
		{"published checkpoint behind the record", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "checkpoint"), readFile(t, filepath.Join(p.at100, "checkpoint")))
		}},
		{"published checkpoint missing", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "checkpoint")); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "log")
			if err := os.CopyFS(dir, os.DirFS(p.dir)); err != nil {
				t.Fatal(err)
			}
			tc.change(t, dir)
			l, err := reopen(t, dir, p.key)
			if err != nil {
				t.Fatal(err)
			}
			cp := fillLog(t, l, s, "after", 3)
			if cp.Size != 303 {
				t.Fatalf("tree size after 3 more appends = %d, want 303", cp.Size)
			}
			hashes, err := l.ConsistencyProof(context.Background(), p.cp.Size, cp.Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, p.cp.Size, cp.Size, hashes, p.cp.Hash, cp.Hash); err != nil {
				t.Fatalf("new checkpoint inconsistent with the one before: %v", err)
			}
			rec := readFile(t, filepath.Join(dir, storage.SignedCheckpointFile))
			if got, _, _, err := f_log.ParseCheckpoint(rec, testOrigin, l.Verifier()); err != nil || got.Size != 303 {
				t.Fatalf("signed-checkpoint record = %v, %v; want the checkpoint of 303", got, err)
			}
		})
	}
}

// TestDamageWhileRunning damages the edge tile and the edge entry bundle
// of a running log: the log must refuse to sign the next checkpoint (the
// append fails, nothing inconsistent is published), report the failure
// through Health and its metric, and refuse appends from then on.
func TestDamageWhileRunning(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string)
	}{
		{"flipped byte in the edge tile", func(t *testing.T, dir string) {
			path := filepath.Join(dir, layout.TilePath(0, 0, 10))
			b := readFile(t, path)
			b[40] ^= 1
			writeFile(t, path, b)
		}},
		{"truncated edge entry bundle", func(t *testing.T, dir string) {
			path := filepath.Join(dir, layout.EntriesPath(0, 10))
			b := readFile(t, path)
			writeFile(t, path, b[:len(b)-30])
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir, s := t.TempDir(), newTestSigner(t)
			l := openTestLog(t, dir, newLogKey(t), DefaultOptions())
			before := fillLog(t, l, s, "before", 10)
			if before.Size != 10 {
				t.Fatalf("size %d, want 10", before.Size)
			}
			if err := l.Health(ctx); err != nil {
				t.Fatalf("Health before the damage: %v", err)
			}
			tc.damage(t, dir)
			actx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if _, err := l.Append(actx, s.HashedRekord(t, []byte("after the damage"), s.CertVerifier())); !errors.Is(err, ErrIntegrity) {
				t.Fatalf("append after the damage = %v, want an integrity error", err)
			}
			if err := l.Health(ctx); !errors.Is(err, ErrIntegrity) {
				t.Fatalf("Health after the damage = %v, want an integrity error", err)
			}
			if n := l.IntegrityFailures(); n == 0 {
				t.Error("IntegrityFailures = 0 after the damage")
			}
			cp, _, err := l.Checkpoint(ctx)
			if err != nil || cp.Size != before.Size || !bytes.Equal(cp.Hash, before.Hash) {
				t.Fatalf("published checkpoint after the damage = %+v, %v; want the one before (%d)", cp, err, before.Size)
			}
			if _, err := l.Append(actx, s.HashedRekord(t, []byte("later"), s.CertVerifier())); !errors.Is(err, ErrIntegrity) {
				t.Fatalf("a later append = %v, want an integrity error", err)
			}
		})
	}
}

// TestGuardRefusesInconsistentCheckpoints asks the guard of a running log
// to sign checkpoints that contradict the last one: a smaller tree, the
// same size with another root, a root that is not a hash, a larger tree
// the tiles do not hold.
func TestGuardRefusesInconsistentCheckpoints(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  func(cp *f_log.Checkpoint) string
		want string
	}{
		{"smaller tree", func(cp *f_log.Checkpoint) string {
			return string(f_log.Checkpoint{Origin: testOrigin, Size: cp.Size - 1, Hash: cp.Hash}.Marshal())
		}, "smaller than"},
		{"same size, other root", func(cp *f_log.Checkpoint) string {
			return string(f_log.Checkpoint{Origin: testOrigin, Size: cp.Size, Hash: bytes.Repeat([]byte{1}, 32)}.Marshal())
		}, "differs from"},
		{"short root", func(cp *f_log.Checkpoint) string {
			return fmt.Sprintf("%s\n%d\nAAAA\n", testOrigin, cp.Size)
		}, "root hash of 3 bytes"},
		{"larger tree than the tiles hold", func(cp *f_log.Checkpoint) string {
			return string(f_log.Checkpoint{Origin: testOrigin, Size: cp.Size + 1, Hash: cp.Hash}.Marshal())
		}, "integrity"},
		{"not a checkpoint", func(*f_log.Checkpoint) string { return "hello\n" }, "refusing to sign"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := openTestLog(t, t.TempDir(), newLogKey(t), DefaultOptions())
			cp := fillLog(t, l, newTestSigner(t), "x", 5)
			_, err := l.guard.Signer().Sign([]byte(tc.msg(cp)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Sign = %v, want an error containing %q", err, tc.want)
			}
			if err := l.Health(context.Background()); !errors.Is(err, ErrIntegrity) {
				t.Errorf("Health after a refused checkpoint = %v", err)
			}
		})
	}
	// A consistent larger tree is signed.
	l := openTestLog(t, t.TempDir(), newLogKey(t), DefaultOptions())
	fillLog(t, l, newTestSigner(t), "x", 5)
	var wg sync.WaitGroup
	wg.Go(func() { fillLog(t, l, newTestSigner(t), "y", 5) })
	wg.Wait()
	if err := l.Health(context.Background()); err != nil {
		t.Fatalf("Health after consistent growth: %v", err)
	}
}

// TestServedTilesAreChecked damages stored tiles and bundles away from
// the edge (where appends do not read them) and checks that they are not
// served: not as 200 with a wrong body, least of all as immutable.
func TestServedTilesAreChecked(t *testing.T) {
	p := populate(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		path   string
		damage func([]byte) []byte
		read   func(l *Log) ([]byte, error)
	}{
		{"truncated full tile", layout.TilePath(0, 0, 0), func(b []byte) []byte { return b[:len(b)-32] },
			func(l *Log) ([]byte, error) { return l.ReadTile(ctx, 0, 0, 0) }},
		{"flipped byte in a full tile", layout.TilePath(0, 0, 0), func(b []byte) []byte { b[5000] ^= 1; return b },
			func(l *Log) ([]byte, error) { return l.ReadTile(ctx, 0, 0, 0) }},
		{"bytes appended to a full tile", layout.TilePath(0, 0, 0), func(b []byte) []byte { return append(b, 1, 2, 3) },
			func(l *Log) ([]byte, error) { return l.ReadTile(ctx, 0, 0, 0) }},
		{"truncated full entry bundle", layout.EntriesPath(0, 0), func(b []byte) []byte { return b[:len(b)-3] },
			func(l *Log) ([]byte, error) { return l.ReadEntryBundle(ctx, 0, 0) }},
		{"flipped byte in a full entry bundle", layout.EntriesPath(0, 0), func(b []byte) []byte { b[len(b)-2] ^= 1; return b },
			func(l *Log) ([]byte, error) { return l.ReadEntryBundle(ctx, 0, 0) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "log")
			if err := os.CopyFS(dir, os.DirFS(p.dir)); err != nil {
				t.Fatal(err)
			}
			l, err := reopen(t, dir, p.key)
			if err != nil {
				t.Fatal(err)
			}
			good, err := tc.read(l)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, tc.path)
			writeFile(t, path, tc.damage(readFile(t, path)))
			l, err = reopen(t, dir, p.key) // a fresh cache
			if err != nil {
				t.Fatal(err)
			}
			got, err := tc.read(l)
			if !errors.Is(err, ErrIntegrity) {
				t.Fatalf("read of the damaged resource = %d bytes, %v; want an integrity error", len(got), err)
			}
			writeFile(t, path, good)
			if got, err := tc.read(l); err != nil || !bytes.Equal(got, good) {
				t.Fatalf("read after repair = %d bytes, %v", len(got), err)
			}
		})
	}
	// Resources beyond the latest checkpoint are missing, not served.
	l, err := reopen(t, p.dir, p.key)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		level, index uint64
		p            uint8
	}{{0, 1, 0}, {0, 1, 45}, {0, 2, 1}, {1, 0, 2}, {1, 0, 0}, {2, 0, 1}, {9, 0, 0}} {
		if _, err := l.ReadTile(ctx, r.level, r.index, r.p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("ReadTile(%d, %d, %d) = %v, want not found", r.level, r.index, r.p, err)
		}
	}
	if _, err := l.ReadEntryBundle(ctx, 1, 45); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadEntryBundle(1, 45) = %v, want not found", err)
	}
	// Resources stored but beyond the checkpoint served against (entries
	// integrated, not yet published) are missing too.
	old, _, _, err := f_log.ParseCheckpoint(readFile(t, filepath.Join(p.at100, "checkpoint")), testOrigin, l.Verifier())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.served.tile(ctx, old, 0, 1, 44); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("tile 0/001.p/44 against the checkpoint of 100 = %v, want not found", err)
	}
	if _, err := l.served.bundle(ctx, old, 0, 101); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bundle 000.p/101 against the checkpoint of 100 = %v, want not found", err)
	}
	if _, err := l.served.bundle(ctx, old, 0, 100); err != nil {
		t.Errorf("bundle 000.p/100 against the checkpoint of 100: %v", err)
	}
	for _, r := range []struct {
		level, index uint64
		p            uint8
	}{{0, 0, 0}, {0, 0, 7}, {0, 1, 44}, {1, 0, 1}} {
		if _, err := l.ReadTile(ctx, r.level, r.index, r.p); err != nil {
			t.Errorf("ReadTile(%d, %d, %d) = %v", r.level, r.index, r.p, err)
		}
	}
}

// TestMySQLDamagedStateRefusesToOpen rolls back and damages the tables of
// a log kept in MySQL (SIGNET_TEST_MYSQL_URL; see scripts/mariadb-up.sh).
func TestMySQLDamagedStateRefusesToOpen(t *testing.T) {
	url := mysqlTestURL(t)
	ctx := context.Background()
	key, s := newLogKey(t), newTestSigner(t)
	opts := DefaultOptions()
	opts.CheckpointInterval = storage.MySQLMinCheckpointInterval
	open := func() (*Log, *sql.DB, error) {
		d, db, err := storage.NewMySQL(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		l, err := New(ctx, d, testOrigin, key, opts)
		if err == nil {
			t.Cleanup(func() { _ = l.Close(context.Background()) })
		}
		return l, db, err
	}
	l, db, err := open()
	if err != nil {
		t.Fatal(err)
	}
	fillLog(t, l, s, "first", 5)
	var oldSize uint64
	var oldRoot []byte
	if err := db.QueryRow("SELECT `size`, `root` FROM `TreeState` WHERE `id` = 0").Scan(&oldSize, &oldRoot); err != nil {
		t.Fatal(err)
	}
	fillLog(t, l, s, "second", 5)
	closeLog(t, l)
	var tile, bundle []byte
	if err := db.QueryRow("SELECT `nodes` FROM `Subtree` WHERE `level` = 0 AND `index` = 0").Scan(&tile); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT `data` FROM `TiledLeaves` WHERE `tile_index` = 0").Scan(&bundle); err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(tile)
	flipped[40] ^= 1
	for _, tc := range []struct {
		name         string
		damage, undo string
		dArgs, uArgs []any
		want         string
	}{
		{"rolled-back TreeState",
			"UPDATE `TreeState` SET `size` = ?, `root` = ? WHERE `id` = 0", "",
			[]any{oldSize, oldRoot}, nil, "smaller than"},
		{"flipped byte in the edge tile",
			"UPDATE `Subtree` SET `nodes` = ? WHERE `level` = 0 AND `index` = 0", "UPDATE `Subtree` SET `nodes` = ? WHERE `level` = 0 AND `index` = 0",
			[]any{flipped}, []any{tile}, "the tiles give root"},
		{"truncated edge entry bundle",
			"UPDATE `TiledLeaves` SET `data` = ? WHERE `tile_index` = 0", "UPDATE `TiledLeaves` SET `data` = ? WHERE `tile_index` = 0",
			[]any{bundle[:len(bundle)/2]}, []any{bundle}, "entry bundle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var size uint64
			var root []byte
			if err := db.QueryRow("SELECT `size`, `root` FROM `TreeState` WHERE `id` = 0").Scan(&size, &root); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(tc.damage, tc.dArgs...); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if _, err := db.Exec("UPDATE `TreeState` SET `size` = ?, `root` = ? WHERE `id` = 0", size, root); err != nil {
					t.Fatal(err)
				}
				if tc.undo != "" {
					if _, err := db.Exec(tc.undo, tc.uArgs...); err != nil {
						t.Fatal(err)
					}
				}
			}()
			_, _, err := open()
			if !errors.Is(err, ErrIntegrity) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("open = %v, want an integrity error containing %q", err, tc.want)
			}
		})
	}
	// Repaired, the log opens and grows consistently.
	l, _, err = open()
	if err != nil {
		t.Fatal(err)
	}
	if cp := fillLog(t, l, s, "third", 2); cp.Size != 12 {
		t.Fatalf("size %d after repair, want 12", cp.Size)
	}
}

// TestGuardReloadsSharedRecord opens two logs on one MySQL database, as two
// replicas do: one replica's guard must not sign a tree smaller than one
// the other signed, though it never saw that one itself.
func TestGuardReloadsSharedRecord(t *testing.T) {
	url := mysqlTestURL(t)
	ctx := context.Background()
	key := newLogKey(t)
	opts := DefaultOptions()
	opts.CheckpointInterval = storage.MySQLMinCheckpointInterval
	open := func() *Log {
		d, db, err := storage.NewMySQL(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		l, err := New(ctx, d, testOrigin, key, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close(context.Background()) })
		return l
	}
	a, b := open(), open()
	s := newTestSigner(t)
	small := fillLog(t, a, s, "small", 3)
	big := fillLog(t, a, s, "big", 3)
	if big.Size <= small.Size {
		t.Fatalf("sizes %d, %d", small.Size, big.Size)
	}
	// The smaller tree is genuine (a prefix of the log), but another
	// replica already signed a larger one.
	_, err := b.guard.Signer().Sign(f_log.Checkpoint{Origin: testOrigin, Size: small.Size, Hash: small.Hash}.Marshal())
	if !errors.Is(err, ErrIntegrity) || !strings.Contains(err.Error(), "smaller than") {
		t.Fatalf("replica B signing tree %d after A signed %d: %v", small.Size, big.Size, err)
	}
}

// TestDamagedInnerTileWhileRunning flips a byte in the level-1 tile of a
// running log of 300 entries. Appends then build on the wrong node: the
// new tree agrees with the tiles and with the new bundle, and only the
// consistency proof with the last signed checkpoint shows the lie.
func TestDamagedInnerTileWhileRunning(t *testing.T) {
	p := populate(t)
	ctx := context.Background()
	l, err := reopen(t, p.dir, p.key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(p.dir, layout.TilePath(1, 0, 1))
	b := readFile(t, path)
	b[7] ^= 1
	writeFile(t, path, b)
	// The good tile is no longer cached (in a large log it would have
	// been evicted long ago).
	l.prover.DropCache()
	s := newTestSigner(t)
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := l.Append(actx, s.HashedRekord(t, []byte("on a damaged inner tile"), s.CertVerifier())); !errors.Is(err, ErrIntegrity) ||
		!strings.Contains(err.Error(), "not consistent") {
		t.Fatalf("append over a damaged inner tile = %v, want an integrity error", err)
	}
	cp, _, err := l.Checkpoint(ctx)
	if err != nil || cp.Size != p.cp.Size || !bytes.Equal(cp.Hash, p.cp.Hash) {
		t.Fatalf("published checkpoint = %+v, %v; want the one before", cp, err)
	}
}

// TestRotatedKey opens a log whose checkpoint key was rotated, as
// `signet server rotate-keys` does: the published checkpoint and the
// signed-checkpoint record were signed with the retired key. Given the
// retired key, the log opens, proves its next checkpoint (signed with the
// new key) consistent with the retired key's, and still refuses a rolled
// back state; without it, nothing the old key signed verifies and the log
// refuses to open.
func TestRotatedKey(t *testing.T) {
	p := populate(t)
	ctx := context.Background()
	oldPub := p.key.Public().(ed25519.PublicKey)
	newKey := newLogKey(t)
	newPub := newKey.Public().(ed25519.PublicKey)
	open := func(dir string, retired ...crypto.PublicKey) (*Log, error) {
		d, err := storage.NewPOSIX(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		opts := DefaultOptions()
		opts.RetiredKeys = retired
		l, err := New(ctx, d, testOrigin, newKey, opts)
		if err == nil {
			t.Cleanup(func() { _ = l.Close(context.Background()) })
		}
		return l, err
	}
	copyLog := func() string {
		dir := filepath.Join(t.TempDir(), "log")
		if err := os.CopyFS(dir, os.DirFS(p.dir)); err != nil {
			t.Fatal(err)
		}
		return dir
	}

	if _, err := open(copyLog()); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("open with a new key and no retired key = %v, want an integrity failure", err)
	}
	if _, err := open(copyLog(), newLogKey(t).Public()); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("open with a new key and an unrelated retired key = %v, want an integrity failure", err)
	}
	if _, err := open(copyLog(), p.key); err == nil || !strings.Contains(err.Error(), "want an Ed25519 key") {
		t.Fatalf("open with a retired key that is not a public key = %v", err)
	}
	if _, err := CheckLogDir(ctx, p.dir, newPub); !errors.Is(err, ErrIntegrity) {
		t.Errorf("CheckLogDir with the new key only = %v, want an integrity failure", err)
	}
	if rep, err := CheckLogDir(ctx, p.dir, newPub, oldPub); err != nil {
		t.Errorf("CheckLogDir with the retired key = %v %v", err, rep)
	}

	// Rolled back, the state still contradicts what the retired key signed.
	dir := copyLog()
	for _, f := range []string{".state/treeState", "checkpoint"} {
		writeFile(t, filepath.Join(dir, f), readFile(t, filepath.Join(p.at100, f)))
	}
	if _, err := open(dir, oldPub); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("open of a rolled-back log after rotation = %v, want an integrity failure", err)
	}

	dir = copyLog()
	l, err := open(dir, oldPub)
	if err != nil {
		t.Fatalf("open with the retired key: %v", err)
	}
	if err := l.Health(ctx); err != nil {
		t.Fatalf("Health before the first new checkpoint: %v", err)
	}
	if cp, _, err := l.Checkpoint(ctx); err != nil || cp.Size != 300 {
		t.Fatalf("Checkpoint before the first new one = %v, %v; want the retired key's of 300", cp, err)
	}
	cp := fillLog(t, l, newTestSigner(t), "rotated", 3)
	if cp.Size != 303 {
		t.Fatalf("tree size after 3 appends = %d, want 303", cp.Size)
	}
	hashes, err := l.ConsistencyProof(ctx, p.cp.Size, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, p.cp.Size, cp.Size, hashes, p.cp.Hash, cp.Hash); err != nil {
		t.Fatalf("new key's checkpoint inconsistent with the retired key's: %v", err)
	}
	newVerifier, err := CheckpointVerifier(testOrigin, newPub)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"checkpoint", storage.SignedCheckpointFile} {
		if got, _, _, err := f_log.ParseCheckpoint(readFile(t, filepath.Join(dir, f)), testOrigin, newVerifier); err != nil || got.Size != 303 {
			t.Errorf("%s = %v, %v; want the new key's checkpoint of 303", f, got, err)
		}
	}
	closeLog(t, l)
	if rep, err := CheckLogDir(ctx, dir, newPub); err != nil {
		t.Errorf("CheckLogDir after the new key signed = %v %v", err, rep)
	}
}
