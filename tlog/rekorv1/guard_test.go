package rekorv1

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/signetproject/signet/tlog"
	"github.com/signetproject/signet/tlog/storage"
)

// TestV1LogRefusesRolledBackState is TestDamagedStateRefusesToOpen's
// rolled-back tree state for the Rekor v1 log.
func TestV1LogRefusesRolledBackState(t *testing.T) {
	ctx := context.Background()
	dir, key := t.TempDir(), newV1LogKey(t)
	l := openTestV1Log(t, dir, key)
	createV1Entries(t, l, "first", 5)
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	old := readFile(t, filepath.Join(dir, "tiles/.state/treeState"))
	l = openTestV1Log(t, dir, key)
	createV1Entries(t, l, "second", 5)
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "tiles/.state/treeState"), old)
	l, err := OpenDir(ctx, dir, testOrigin, key, tlog.DefaultOptions())
	if err == nil {
		_ = l.Close(ctx)
		t.Fatal("the v1 log opened with a rolled-back tree state")
	}
	if !errors.Is(err, tlog.ErrIntegrity) || !strings.Contains(err.Error(), "smaller than") {
		t.Fatalf("open = %v, want an integrity error", err)
	}
}

// createV1Entries creates n v1 entries at once.
func createV1Entries(t *testing.T, l *Log, prefix string, n int) {
	t.Helper()
	s := newTestSigner(t)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		body := v1HashedRekord(t, s, fmt.Appendf(nil, "%s %d", prefix, i), certPEM(t, s))
		wg.Go(func() { _, errs[i] = l.Create(context.Background(), body) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// TestV1OlderRootsAreProven damages every stored version of a full tile of
// a Rekor v1 log: roots the log computes for older tree sizes, which it
// signs as checkpoints, must be proven consistent with its checkpoint
// first, so the damage is an error rather than a signed wrong root.
func TestV1OlderRootsAreProven(t *testing.T) {
	ctx := context.Background()
	dir, key := t.TempDir(), newV1LogKey(t)
	l := openTestV1Log(t, dir, key)
	createV1Entries(t, l, "many", 300)
	info, err := l.LogInfo(ctx)
	if err != nil || info.TreeSize != 300 {
		t.Fatalf("LogInfo = %+v, %v", info, err)
	}
	if _, err := l.InclusionProof(ctx, 5, 100); err != nil {
		t.Fatalf("inclusion proof in tree 100 before the damage: %v", err)
	}
	closeV1Log(t, l)
	files, _ := filepath.Glob(filepath.Join(dir, "tiles", "tile", "0", "000*"))
	more, _ := filepath.Glob(filepath.Join(dir, "tiles", "tile", "0", "000.p", "*"))
	for _, f := range append(files, more...) {
		if st, err := os.Stat(f); err != nil || st.IsDir() {
			continue
		}
		b := readFile(t, f)
		if len(b) > 6*32 {
			b[5*32] ^= 1 // the hash of leaf 5
			writeFile(t, f, b)
		}
	}
	l = openTestV1Log(t, dir, key)
	for _, q := range []struct{ first, last int64 }{{1, 100}, {50, 200}} {
		if p, err := l.ConsistencyProof(ctx, q.first, q.last); !errors.Is(err, tlog.ErrIntegrity) {
			t.Errorf("ConsistencyProof(%d, %d) over a damaged tile = %+v, %v; want an integrity error", q.first, q.last, p, err)
		}
	}
	if p, err := l.InclusionProof(ctx, 150, 200); !errors.Is(err, tlog.ErrIntegrity) {
		t.Errorf("InclusionProof(150, 200) over a damaged tile = %+v, %v; want an integrity error", p, err)
	}
}

// TestV1MySQLRefusesRolledBackState is TestV1LogRefusesRolledBackState for
// the Rekor v1 log kept in MySQL (SIGNET_TEST_MYSQL_URL): its tree state
// rolled back in the database, the log must refuse to open.
func TestV1MySQLRefusesRolledBackState(t *testing.T) {
	url := mysqlTestURL(t)
	ctx := context.Background()
	key := newV1LogKey(t)
	opts := tlog.DefaultOptions()
	opts.CheckpointInterval = storage.MySQLMinCheckpointInterval
	l, err := OpenMySQL(ctx, url, testOrigin, key, opts)
	if err != nil {
		t.Fatal(err)
	}
	createV1Entries(t, l, "first", 5)
	cfg, err := storage.ParseMySQLURL(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DBName += MySQLDatabaseSuffix
	db, err := storage.OpenMySQL(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var oldSize uint64
	var oldRoot []byte
	if err := db.QueryRow("SELECT `size`, `root` FROM `TreeState` WHERE `id` = 0").Scan(&oldSize, &oldRoot); err != nil {
		t.Fatal(err)
	}
	createV1Entries(t, l, "second", 5)
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE `TreeState` SET `size` = ?, `root` = ? WHERE `id` = 0", oldSize, oldRoot); err != nil {
		t.Fatal(err)
	}
	l, err = OpenMySQL(ctx, url, testOrigin, key, opts)
	if err == nil {
		_ = l.Close(ctx)
		t.Fatal("the v1 log opened with a rolled-back tree state in MySQL")
	}
	if !errors.Is(err, tlog.ErrIntegrity) || !strings.Contains(err.Error(), "smaller than") {
		t.Fatalf("open = %v, want an integrity error", err)
	}
}

// TestCheckMySQL checks a Rekor v1 log kept in MySQL, as `signet log
// verify --log-storage mysql://…` does (SIGNET_TEST_MYSQL_URL), and that
// the check fails on a damaged tile.
func TestCheckMySQL(t *testing.T) {
	url := mysqlTestURL(t)
	ctx := context.Background()
	key := newV1LogKey(t)
	l, err := OpenMySQL(ctx, url, testOrigin, key, tlog.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	createV1Entries(t, l, "mysql", 3)
	closeV1Log(t, l)
	if rep, err := CheckMySQL(ctx, url, &key.PublicKey); err != nil || rep.Size != 3 {
		t.Fatalf("CheckMySQL = %+v, %v", rep, err)
	}
	cfg, err := storage.ParseMySQLURL(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DBName += MySQLDatabaseSuffix
	db, err := storage.OpenMySQL(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tile []byte
	if err := db.QueryRow("SELECT `nodes` FROM `Subtree` WHERE `level` = 0 AND `index` = 0").Scan(&tile); err != nil {
		t.Fatal(err)
	}
	tile[33] ^= 1
	if _, err := db.Exec("UPDATE `Subtree` SET `nodes` = ? WHERE `level` = 0 AND `index` = 0", tile); err != nil {
		t.Fatal(err)
	}
	if rep, err := CheckMySQL(ctx, url, &key.PublicKey); !errors.Is(err, tlog.ErrCheckFailed) || !strings.Contains(strings.Join(rep.Problems, "\n"), "tile tile/0/000.p/3: hash 1") {
		t.Fatalf("CheckMySQL of a damaged tile = %v, %+v", err, rep)
	}
}
