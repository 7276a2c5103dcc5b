package search

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signetproject/signet/tlog/storage"
)

// freshMySQLDB returns a new database next to SIGNET_TEST_MYSQL_URL's,
// dropped when the test ends; it skips the test without the variable.
func freshMySQLDB(t *testing.T) *sql.DB {
	t.Helper()
	url := os.Getenv("SIGNET_TEST_MYSQL_URL")
	if url == "" {
		t.Skip("SIGNET_TEST_MYSQL_URL not set; make e2e runs this against MariaDB (or start one with scripts/mariadb-up.sh DIR PORT)")
	}
	cfg, err := storage.ParseMySQLURL(url)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	var b [4]byte
	rand.Read(b[:])
	name := fmt.Sprintf("%s_x%x", cfg.DBName, b)
	if _, err := admin.Exec("CREATE DATABASE `" + name + "`"); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() { _, _ = admin.Exec("DROP DATABASE IF EXISTS `" + name + "`") })
	cfg.DBName = name
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestMySQLIndex checks MySQLIndex as TestFileIndexOrderPagingAndReset
// checks the file index, and its envelope store.
func TestMySQLIndex(t *testing.T) {
	ctx := context.Background()
	db := freshMySQLDB(t)
	x, err := NewMySQLIndex(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	add := func(log Log, i uint64, tm int64, keys ...string) {
		t.Helper()
		if err := x.Add(ctx, []IndexEntry{{Posting{Log: log, Index: i, Time: tm}, keys}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Add(ctx, []IndexEntry{{Posting{Log: LogV2, Index: 7, Time: 1, Summary: &Summary{Kind: "dsse 0.0.2", Identity: "<b>"}}, []string{"s"}}}); err != nil {
		t.Fatal(err)
	}
	if page, _, err := x.Lookup(ctx, []string{"s"}, 0, 1); err != nil || len(page) != 1 || page[0].Summary == nil || page[0].Summary.Identity != "<b>" {
		t.Errorf("summary not kept: %+v %v", page, err)
	}
	add(LogV2, 0, 100, "k", "a")
	add(LogV1, 0, 101, "k")
	add(LogV2, 1, 101, "k", "b")
	add(LogV2, 0, 999, "k", "c") // the first time is kept
	page, total, err := x.Lookup(ctx, []string{"k"}, 0, 2)
	want := []Posting{{Log: LogV2, Index: 1, Time: 101}, {Log: LogV1, Index: 0, Time: 101}}
	if err != nil || total != 3 || !cmp.Equal(page, want) {
		t.Errorf("Lookup k = %v, %d, %v; want %v, 3", page, total, err, want)
	}
	page, total, _ = x.Lookup(ctx, []string{"a", "b", "c", "k"}, 2, 5)
	if total != 3 || !cmp.Equal(page, []Posting{{Log: LogV2, Index: 0, Time: 100}}) {
		t.Errorf("Lookup a,b,c,k page 2 = %v of %d", page, total)
	}
	if err := x.SetFollowed(ctx, LogV2, 2, 0); err != nil {
		t.Fatal(err)
	}
	if n, gen, _ := x.Followed(ctx, LogV2); n != 2 || gen != 0 {
		t.Errorf("followed = %d gen %d", n, gen)
	}
	if err := x.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	_ = x.SetFollowed(ctx, LogV2, 5, 0) // a follow from before the reset
	if n, gen, _ := x.Followed(ctx, LogV2); n != 0 || gen != 1 {
		t.Errorf("after reset followed = %d gen %d, want 0 gen 1", n, gen)
	}
	if _, total, _ := x.Lookup(ctx, []string{"k"}, 0, 10); total != 0 {
		t.Errorf("after reset %d postings", total)
	}
	add(LogV2, 0, 5000, "k")
	if page, _, _ := x.Lookup(ctx, []string{"k"}, 0, 10); !cmp.Equal(page, []Posting{{Log: LogV2, Index: 0, Time: 100}}) {
		t.Errorf("after reset = %v: the first time was not kept", page)
	}

	s, err := NewMySQLEnvelopeStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, [32]byte{1}, make([]byte, MaxEnvelopeSize+1)); err == nil {
		t.Error("stored an envelope over the limit")
	}
	if err := s.Put(ctx, [32]byte{1}, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if b, ok, err := s.Get(ctx, [32]byte{1}); err != nil || !ok || string(b) != "{}" {
		t.Errorf("Get = %q %v %v", b, ok, err)
	}
	if _, ok, err := s.Get(ctx, [32]byte{2}); err != nil || ok {
		t.Errorf("Get of a missing envelope = %v %v", ok, err)
	}
}
