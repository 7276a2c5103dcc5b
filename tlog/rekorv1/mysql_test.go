package rekorv1

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/signetproject/signet/tlog"
	"github.com/signetproject/signet/tlog/storage"
)

// These tests need a MySQL or MariaDB server: set SIGNET_TEST_MYSQL_URL to
// mysql://user:pass@tcp(host:port)/db for a user who may create databases
// named db_* (scripts/mariadb-up.sh starts one and prints the URL). Each
// test works in databases of its own, dropped when it ends.

// openTestMySQLStore returns a store in a fresh database, and the URL of
// the database so that more stores ("servers") can share it.
func openTestMySQLStore(t *testing.T) (*MySQLStore, string) {
	t.Helper()
	url := mysqlTestURL(t)
	return openMySQLStoreAt(t, url), url
}

// openMySQLStoreAt returns another store in the database at url.
func openMySQLStoreAt(t *testing.T, url string) *MySQLStore {
	t.Helper()
	cfg, err := storage.ParseMySQLURL(url)
	if err != nil {
		t.Fatal(err)
	}
	db, err := storage.OpenMySQL(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := NewMySQLStore(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// openTestV1LogMySQL opens the v1 log of the database at url and closes it
// at the end of the test.
func openTestV1LogMySQL(t *testing.T, url string, key crypto.Signer) *Log {
	t.Helper()
	l, err := OpenMySQL(context.Background(), url, testOrigin, key, tlog.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeV1Log(t, l) })
	return l
}

func TestMySQLV1EntryStore(t *testing.T) {
	ctx := context.Background()
	s, url := openTestMySQLStore(t)
	leaf := sha256.Sum256([]byte("leaf"))
	if _, ok, err := s.Get(ctx, leaf); ok || err != nil {
		t.Fatalf("Get of a missing leaf = %v, %v", ok, err)
	}
	// Each step Puts a record and expects what Get returns after it.
	steps := []struct {
		name string
		put  EntryRecord
		want EntryRecord
	}{
		{"provisional time", EntryRecord{IntegratedTime: 100}, EntryRecord{IntegratedTime: 100}},
		{"provisional time replaced", EntryRecord{IntegratedTime: 90}, EntryRecord{IntegratedTime: 90}},
		{"indexed", EntryRecord{IntegratedTime: 110, Index: 7, Indexed: true}, EntryRecord{IntegratedTime: 110, Index: 7, Indexed: true}},
		{"never unindexed", EntryRecord{IntegratedTime: 200}, EntryRecord{IntegratedTime: 110, Index: 7, Indexed: true}},
		{"earlier time for the same index ignored", EntryRecord{IntegratedTime: 90, Index: 7, Indexed: true}, EntryRecord{IntegratedTime: 110, Index: 7, Indexed: true}},
		{"later time for the same index kept", EntryRecord{IntegratedTime: 120, Index: 7, Indexed: true}, EntryRecord{IntegratedTime: 120, Index: 7, Indexed: true}},
		{"first index wins", EntryRecord{IntegratedTime: 130, Index: 9, Indexed: true}, EntryRecord{IntegratedTime: 120, Index: 7, Indexed: true}},
	}
	for _, st := range steps {
		if err := s.Put(ctx, leaf, st.put); err != nil {
			t.Fatalf("%s: Put: %v", st.name, err)
		}
		got, ok, err := s.Get(ctx, leaf)
		if err != nil || !ok {
			t.Fatalf("%s: Get = %v, %v", st.name, ok, err)
		}
		if diff := cmp.Diff(st.want, got); diff != "" {
			t.Errorf("%s: record (-want +got):\n%s", st.name, diff)
		}
	}
	// Index 0 is an index, not a missing one.
	zero := sha256.Sum256([]byte("leaf zero"))
	if err := s.Put(ctx, zero, EntryRecord{IntegratedTime: 5, Index: 0, Indexed: true}); err != nil {
		t.Fatal(err)
	}
	// Another server sees the same records.
	other := openMySQLStoreAt(t, url)
	for l, want := range map[[32]byte]EntryRecord{leaf: steps[len(steps)-1].want, zero: {IntegratedTime: 5, Indexed: true}} {
		if got, ok, err := other.Get(ctx, l); err != nil || !ok || got != want {
			t.Errorf("Get on another store = %+v, %v, %v; want %+v", got, ok, err, want)
		}
	}
}

func TestMySQLV1SearchIndex(t *testing.T) {
	ctx := context.Background()
	s, url := openTestMySQLStore(t)
	u1, u2 := strings.Repeat("ab", 32), strings.Repeat("01", 32)
	long := "https://github.com/" + strings.Repeat("x", 5000) // longer than any index prefix
	for range 2 {
		if err := s.Add(ctx, u1, []string{"k1", "k2", long}); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	if err := s.Add(ctx, u2, []string{"k1", "k1"}); err != nil {
		t.Fatalf("Add with a repeated key: %v", err)
	}
	if err := s.Add(ctx, u2, nil); err != nil {
		t.Fatalf("Add without keys: %v", err)
	}
	if err := s.Add(ctx, "not-a-uuid", []string{"k1"}); err == nil {
		t.Error("Add accepted a malformed UUID")
	}
	other := openMySQLStoreAt(t, url)
	for _, x := range []*MySQLStore{s, other} {
		for key, want := range map[string][]string{"k1": {u2, u1}, "k2": {u1}, long: {u1}, "k3": nil, "K1": nil} {
			got, err := x.Lookup(ctx, key)
			if err != nil {
				t.Fatalf("Lookup(%.10s): %v", key, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Lookup(%.10s) (-want +got):\n%s", key, diff)
			}
		}
	}

	// Reset empties the index for every server and restarts following.
	if err := s.SetFollowedSize(ctx, 42); err != nil {
		t.Fatal(err)
	}
	if err := other.Reset(ctx); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if got, err := s.Lookup(ctx, "k1"); err != nil || len(got) != 0 {
		t.Errorf("Lookup after Reset = %v, %v", got, err)
	}
	if n, err := s.FollowedSize(ctx); err != nil || n != 0 {
		t.Errorf("FollowedSize after Reset = %d, %v; want 0", n, err)
	}
}

func TestMySQLV1FollowedSize(t *testing.T) {
	ctx := context.Background()
	a, url := openTestMySQLStore(t)
	b := openMySQLStoreAt(t, url)
	followed := func(s *MySQLStore) uint64 {
		t.Helper()
		n, err := s.FollowedSize(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	set := func(s *MySQLStore, n uint64) {
		t.Helper()
		if err := s.SetFollowedSize(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if n := followed(a); n != 0 {
		t.Fatalf("new store followed %d leaves", n)
	}
	set(a, 10)
	set(a, 5) // a slower server finishing later
	if n := followed(b); n != 10 {
		t.Errorf("after 10 then 5, FollowedSize = %d, want 10", n)
	}

	// A follow that began before a restart does not count after it: b read
	// the size, then a restarted following (as Reindex does), then b
	// finishes its follow.
	followed(b)
	set(a, 0)
	set(b, 300)
	if n := followed(a); n != 0 {
		t.Errorf("a follow from before the restart moved FollowedSize to %d", n)
	}
	// b's next follow starts in the new generation and counts.
	followed(b)
	set(b, 20)
	if n := followed(a); n != 20 {
		t.Errorf("FollowedSize = %d, want 20", n)
	}
}

func TestMySQLV1ConcurrentFollowers(t *testing.T) {
	ctx := context.Background()
	_, url := openTestMySQLStore(t)
	const servers, rounds = 4, 25
	stores := make([]*MySQLStore, servers)
	for i := range stores {
		stores[i] = openMySQLStoreAt(t, url)
	}
	// Each server follows in steps of its own size, as servers do that
	// see the tree at different sizes; a watcher checks that the size
	// never goes back.
	stop := make(chan struct{})
	var watcherErr error
	var watcher sync.WaitGroup
	watcher.Go(func() {
		var last uint64
		for {
			select {
			case <-stop:
				return
			default:
			}
			n, err := stores[0].FollowedSize(ctx)
			if err != nil {
				watcherErr = err
				return
			}
			if n < last {
				watcherErr = fmt.Errorf("FollowedSize went back from %d to %d", last, n)
				return
			}
			last = n
		}
	})
	var wg sync.WaitGroup
	errs := make([]error, servers)
	for i, s := range stores[1:] {
		wg.Go(func() {
			for range rounds {
				from, err := s.FollowedSize(ctx)
				if err == nil {
					err = s.SetFollowedSize(ctx, from+uint64(i+1))
				}
				if err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	watcher.Wait()
	if err := errors.Join(append(errs, watcherErr)...); err != nil {
		t.Fatal(err)
	}
	// A server's step starts from at least its own last one, so the
	// largest-stepping server alone moves the size rounds*3; all steps
	// together add at most rounds*(1+2+3).
	n, err := stores[0].FollowedSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n < rounds*3 || n > rounds*(1+2+3) {
		t.Errorf("FollowedSize = %d after %d rounds of %d servers", n, rounds, servers-1)
	}
}

// TestMySQLV1Log runs the file log's lookup checks on a log in MySQL,
// through two servers sharing it, and across a reindex and a reopen.
func TestMySQLV1Log(t *testing.T) {
	ctx := context.Background()
	url := mysqlTestURL(t)
	key := newV1LogKey(t)
	a, err := OpenMySQL(ctx, url, testOrigin, key, tlog.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	f := fillV1Log(t, a)
	checkV1Lookups(t, a, f, 2)

	b := openTestV1LogMySQL(t, url, key)
	if b.TreeID() != a.TreeID() || !bytes.Equal(b.LogID(), a.LogID()) {
		t.Fatalf("second server has tree %d, log ID %x; first %d, %x", b.TreeID(), b.LogID(), a.TreeID(), a.LogID())
	}
	checkV1Lookups(t, b, f, 2)

	// Reindexing through one server rebuilds the index both use.
	if err := b.Reindex(ctx); err != nil {
		t.Fatal(err)
	}
	checkV1Lookups(t, a, f, 0)
	checkV1Lookups(t, b, f, 0)
	treeID := a.TreeID()
	closeV1Log(t, a)

	a = openTestV1LogMySQL(t, url, key)
	if a.TreeID() != treeID {
		t.Errorf("tree ID changed from %d to %d on reopen", treeID, a.TreeID())
	}
	checkV1Lookups(t, a, f, 0)
	for _, l := range []*Log{a, b} {
		if err := l.LastFollowError(); err != nil {
			t.Errorf("background follow: %v", err)
		}
	}
}

// TestMySQLV1LogRecoversInterruptedAppends loses the records an append makes
// after the leaf is in the tree, as when a server dies there, and checks
// that another server opening the log restores them.
func TestMySQLV1LogRecoversInterruptedAppends(t *testing.T) {
	ctx := context.Background()
	url := mysqlTestURL(t)
	key := newV1LogKey(t)
	a := openTestV1LogMySQL(t, url, key)
	f := fillV1Log(t, a)
	closeV1Log(t, a)

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
	for _, stmt := range []string{
		"UPDATE `RekorV1Entry` SET `log_index` = NULL",
		"DELETE FROM `RekorV1Search`",
		"UPDATE `RekorV1Follow` SET `followed` = 0",
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	b := openTestV1LogMySQL(t, url, key)
	// Only the statement subjects are gone: the proposed entries carried
	// them, the log does not.
	checkV1Lookups(t, b, f, 0)
}

// TestMySQLV1LogConcurrentServers starts two servers at once on a new
// database, appends through both at once and reads every entry through
// both.
func TestMySQLV1LogConcurrentServers(t *testing.T) {
	ctx := context.Background()
	url := mysqlTestURL(t)
	key := newV1LogKey(t)
	logs := make([]*Log, 2)
	openErrs := make([]error, 2)
	var opening sync.WaitGroup
	for i := range logs {
		opening.Go(func() { logs[i], openErrs[i] = OpenMySQL(ctx, url, testOrigin, key, tlog.DefaultOptions()) })
	}
	opening.Wait()
	for i, l := range logs {
		if openErrs[i] != nil {
			t.Fatalf("open server %d: %v", i, openErrs[i])
		}
		t.Cleanup(func() { closeV1Log(t, l) })
	}
	if logs[0].TreeID() != logs[1].TreeID() {
		t.Fatalf("servers started together chose trees %d and %d", logs[0].TreeID(), logs[1].TreeID())
	}
	s := newTestSigner(t)
	const perServer = 6
	type created struct {
		proposed []byte
		entry    *LogEntry
		artifact string
		err      error
	}
	results := make([]created, 2*perServer)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			artifact := fmt.Appendf(nil, "artifact %d", i)
			d := sha256.Sum256(artifact)
			results[i].artifact = "sha256:" + hex.EncodeToString(d[:])
			results[i].proposed = v1HashedRekord(t, s, artifact, certPEM(t, s))
			results[i].entry, results[i].err = logs[i%2].Create(ctx, results[i].proposed)
		})
	}
	wg.Wait()
	indexes := map[int64]bool{}
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("Create %d: %v", i, r.err)
		}
		if indexes[r.entry.LogIndex] {
			t.Errorf("log index %d assigned twice", r.entry.LogIndex)
		}
		indexes[r.entry.LogIndex] = true
	}
	for _, l := range logs {
		for i, r := range results {
			got, err := l.EntryByUUID(ctx, r.entry.UUID)
			if err != nil {
				t.Errorf("entry %d: %v", i, err)
				continue
			}
			if got.LogIndex != r.entry.LogIndex || got.IntegratedTime != r.entry.IntegratedTime {
				t.Errorf("entry %d read back at %d (time %d), created at %d (time %d)", i, got.LogIndex, got.IntegratedTime, r.entry.LogIndex, r.entry.IntegratedTime)
			}
			if err := verifyWithRekorV1Client(t, l, got); err != nil {
				t.Errorf("entry %d does not verify: %v", i, err)
			}
			ids, err := l.SearchIndex(ctx, SearchIndexQuery{Hash: r.artifact})
			if err != nil || !slices.Equal(ids, []string{r.entry.EntryID}) {
				t.Errorf("search for entry %d = %v, %v", i, ids, err)
			}
		}
	}
	// Each server detects duplicates of entries the other appended.
	for i, r := range results {
		var dup *DuplicateError
		if _, err := logs[(i+1)%2].Create(ctx, r.proposed); !errors.As(err, &dup) || dup.EntryID != r.entry.EntryID {
			t.Errorf("duplicate of entry %d through the other server: %v", i, err)
		}
	}
}

func TestMySQLV1LogRefusesMismatch(t *testing.T) {
	ctx := context.Background()
	url := mysqlTestURL(t)
	key := newV1LogKey(t)
	openTestV1LogMySQL(t, url, key)
	tests := []struct {
		name     string
		hostname string
		key      crypto.Signer
		want     string
	}{
		{"other key", testOrigin, newV1LogKey(t), "same v1 log key"},
		{"other hostname", "other.signet.test", key, "hostname"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := OpenMySQL(ctx, url, tc.hostname, tc.key, tlog.DefaultOptions())
			if err == nil {
				closeV1Log(t, l)
				t.Fatal("a second server with a different configuration opened the log")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

// TestMySQLV1DatabaseName checks the v1 database's name: the configured one
// with the suffix, which OpenMySQL creates.
func TestMySQLV1DatabaseName(t *testing.T) {
	url := mysqlTestURL(t)
	openTestV1LogMySQL(t, url, newV1LogKey(t))
	cfg, err := storage.ParseMySQLURL(url)
	if err != nil {
		t.Fatal(err)
	}
	db, err := storage.OpenMySQL(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables int
	err = db.QueryRow("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name IN ('RekorV1Entry', 'TreeState')",
		cfg.DBName+MySQLDatabaseSuffix).Scan(&tables)
	if err != nil || tables != 2 {
		t.Errorf("v1 tables in %s%s: %d, %v; want 2", cfg.DBName, MySQLDatabaseSuffix, tables, err)
	}

	cfg.DBName = strings.Repeat("d", storage.MySQLMaxDatabaseName)
	if _, err := OpenMySQL(context.Background(), "mysql://"+cfg.FormatDSN(), testOrigin, newV1LogKey(t), tlog.DefaultOptions()); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("OpenV1LogMySQL with a too long database name = %v", err)
	}
}
