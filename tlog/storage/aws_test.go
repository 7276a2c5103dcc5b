package storage

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/google/go-cmp/cmp"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api/layout"
	"golang.org/x/mod/sumdb/note"
)

func TestParseS3URL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want S3Location
	}{
		{"s3://logs", S3Location{Bucket: "logs"}},
		{"s3://logs/", S3Location{Bucket: "logs"}},
		{"s3://logs/a/b/", S3Location{Bucket: "logs", Prefix: "a/b"}},
		{"s3://logs/p?region=eu-west-1", S3Location{Bucket: "logs", Prefix: "p", Region: "eu-west-1"}},
		{"s3://logs?endpoint=http://127.0.0.1:7070", S3Location{Bucket: "logs", Endpoint: "http://127.0.0.1:7070"}},
		{"s3://logs/x?endpoint=https%3A%2F%2Fs3.internal&region=r", S3Location{Bucket: "logs", Prefix: "x", Endpoint: "https://s3.internal", Region: "r"}},
	} {
		got, err := ParseS3URL(tc.in)
		if err != nil {
			t.Errorf("ParseS3URL(%q): %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, *got); diff != "" {
			t.Errorf("ParseS3URL(%q) (-want +got):\n%s", tc.in, diff)
		}
		// String gives back a URL naming the same place.
		if strings.Contains(got.String(), "/?") || strings.HasSuffix(got.String(), "/") {
			t.Errorf("ParseS3URL(%q).String() = %q ends its path with /", tc.in, got.String())
		}
		again, err := ParseS3URL(got.String())
		if err != nil || *again != *got {
			t.Errorf("ParseS3URL(%q).String() = %q parses as %+v, %v", tc.in, got.String(), again, err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"", "scheme is not s3://"},
		{"logs", "scheme is not s3://"},
		{"http://logs", "scheme is not s3://"},
		{"s3://", "no bucket"},
		{"s3:///prefix", "no bucket"},
		{"s3://key:secret@logs", `"s3://***@logs": credentials do not go in the URL`},
		{"s3://logs:9000", "not a bucket name"},
		{"s3://logs#x", "not a bucket name"},
		{"s3://logs/a//b", "empty, . or .. segments"},
		{"s3://logs/../b", "empty, . or .. segments"},
		{"s3://logs/a/./b", "empty, . or .. segments"},
		{"s3://logs?endpoint=127.0.0.1:7070", "is not an http:// or https:// URL"},
		{"s3://logs?endpoint=ftp://host", "is not an http:// or https:// URL"},
		{"s3://logs?endpoint=http://a&endpoint=http://b", `"endpoint" given 2 times`},
		{"s3://logs?region=", "empty region"},
		{"s3://logs?bucket=other", `unknown parameter "bucket"`},
	} {
		_, err := ParseS3URL(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseS3URL(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "key:secret") {
			t.Errorf("ParseS3URL(%q) error shows the secret: %v", tc.in, err)
		}
	}
}

func TestS3LocationSub(t *testing.T) {
	for _, tc := range []struct{ prefix, sub, want string }{
		{"", "ct", "ct"},
		{"a/b", "ct", "a/b/ct"},
		{"a", "", "a"},
	} {
		if got := (S3Location{Bucket: "b", Prefix: tc.prefix}).Sub(tc.sub).Prefix; got != tc.want {
			t.Errorf("Sub(%q, %q) = %q, want %q", tc.prefix, tc.sub, got, tc.want)
		}
	}
}

// TestNewAWSRefuses opens the AWS driver on object stores that cannot keep
// a log: each is refused with an error naming the problem.
func TestNewAWSRefuses(t *testing.T) {
	dbURL, objects := testDatabase(t), testObjects(t)
	loc, err := ParseS3URL(objects)
	if err != nil {
		t.Fatal(err)
	}
	missing := *loc
	missing.Bucket = "no-such-bucket-" + randomHex()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := *loc
	closed.Endpoint = "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tc := range []struct{ objects, want string }{
		{"s3://", "no bucket"},
		{missing.String(), "does not exist"},
		{closed.String(), "cannot reach bucket"},
	} {
		d, db, err := NewAWS(ctx, dbURL, tc.objects)
		if err == nil {
			db.Close()
			t.Errorf("NewAWS(%s) = %s, want an error", tc.objects, d.Where())
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewAWS(%s) = %v, want an error containing %q", tc.objects, err, tc.want)
		}
	}
}

// TestMigrateToAWS moves a log of Tessera's MySQL driver onto the AWS
// driver: every object reads back as it was, the copy refuses to run
// again, the AWS driver appends on top, and the source is untouched. A
// source whose tree state is ahead of its checkpoint, or disagrees with
// it, is refused.
func TestMigrateToAWS(t *testing.T) {
	dbURL, objects := testDatabase(t), testObjects(t)
	ctx := context.Background()
	signer, verifier := testNoteKey(t)

	src, db, err := NewMySQL(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, db0, err := NewAWS(ctx, dbURL, objects); err != nil {
		t.Fatalf("NewAWS on a database with no log: %v", err)
	} else {
		db0.Close()
	}
	appendEntries(t, src, signer, MySQLMinCheckpointInterval, 300) // a full bundle and a partial one
	before := readAll(t, src.(*mysqlDriver).inner.(Reader), 300, layout.EntriesPath)

	if _, _, err := NewAWS(ctx, dbURL, objects); !errors.Is(err, ErrNotMigrated) {
		t.Fatalf("NewAWS before migrating: %v, want ErrNotMigrated", err)
	}
	rep, err := MigrateMySQLToAWS(ctx, dbURL, "", objects, "", nil)
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if diff := cmp.Diff(&MigrateReport{Size: 300, Bundles: 2, Tiles: 3}, rep); diff != "" {
		t.Errorf("migrate report (-want +got):\n%s", diff)
	}
	if _, err := MigrateMySQLToAWS(ctx, dbURL, "", objects, "", nil); !errors.Is(err, ErrTargetNotEmpty) {
		t.Errorf("second migration: %v, want ErrTargetNotEmpty", err)
	}
	dst, db2, err := NewAWS(ctx, dbURL, objects)
	if err != nil {
		t.Fatalf("NewAWS after migrating: %v", err)
	}
	defer db2.Close()
	r, err := DirectReader(dst)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, readAll(t, r, 300, layout.EntriesPath)); diff != "" {
		t.Errorf("objects after migration (-source +copy):\n%s", diff)
	}
	if size, _, err := dst.TreeState(ctx); err != nil || size != 300 {
		t.Errorf("AWS tree state = %d, %v; want 300", size, err)
	}

	// The AWS driver appends on top; its checkpoint verifies and grows.
	appendEntries(t, dst, signer, AWSMinCheckpointInterval, 10)
	cp, err := r.ReadCheckpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(cp, note.VerifierList(verifier))
	if err != nil {
		t.Fatalf("checkpoint after appending on AWS: %v", err)
	}
	if size, _ := CheckpointSize([]byte(n.Text)); size != 310 {
		t.Errorf("checkpoint after appending 10 on AWS has size %d, want 310", size)
	}
	// Tessera's MySQL driver no longer opens the log.
	if _, _, err := NewMySQL(ctx, dbURL); !errors.Is(err, ErrMovedToObjects) {
		t.Errorf("NewMySQL after the log moved: %v, want ErrMovedToObjects", err)
	}
	// The source is as it was.
	if diff := cmp.Diff(before, readAll(t, src.(*mysqlDriver).inner.(Reader), 300, layout.EntriesPath)); diff != "" {
		t.Errorf("source after migration (-before +after):\n%s", diff)
	}
}

// TestMigrateRefusesNonEmptyTarget migrates into an object store prefix
// that holds another log's checkpoint, and sets the tree of a target whose
// tables a server filled meanwhile: both are refused, and the checkpoint
// is left as it was.
func TestMigrateRefusesNonEmptyTarget(t *testing.T) {
	dbURL, objects := testDatabase(t), testObjects(t)
	ctx := context.Background()
	signer, _ := testNoteKey(t)
	src, db, err := NewMySQL(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	appendEntries(t, src, signer, MySQLMinCheckpointInterval, 3)
	loc, err := ParseS3URL(objects)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := openAWS(ctx, db, testDSN(t, dbURL), loc, false)
	if err != nil {
		t.Fatal(err)
	}
	other := []byte("another log's checkpoint\n")
	if err := dst.objects.put(ctx, layout.CheckpointPath, other); err != nil {
		t.Fatal(err)
	}
	if _, err := MigrateMySQLToAWS(ctx, dbURL, "", objects, "", nil); !errors.Is(err, ErrTargetNotEmpty) {
		t.Errorf("migrate onto another log's checkpoint: %v, want ErrTargetNotEmpty", err)
	}
	if got, err := dst.objects.get(ctx, layout.CheckpointPath); err != nil || string(got) != string(other) {
		t.Errorf("the target's checkpoint is now %q (%v), want it untouched", got, err)
	}
	// A server sequenced entries on the object store during a copy.
	if err := dst.initTables(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "UPDATE `SeqCoord` SET `next` = 2 WHERE `id` = 0"); err != nil {
		t.Fatal(err)
	}
	if err := dst.setTree(ctx, 3, make([]byte, 32)); !errors.Is(err, ErrTargetNotEmpty) {
		t.Errorf("setTree over sequenced entries: %v, want ErrTargetNotEmpty", err)
	}
}

// TestAWSReaderFallsBack reads a partial tile that Tessera's garbage
// collection removed, as its readers do: the full tile stands for it.
func TestAWSReaderFallsBack(t *testing.T) {
	dbURL, objects := testDatabase(t), testObjects(t)
	ctx := context.Background()
	d, db, err := NewAWS(ctx, dbURL, objects)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	o := d.(*awsDriver).objects
	full := strings.Repeat("h", 256*32)
	if err := o.put(ctx, layout.TilePath(0, 0, 0), []byte(full)); err != nil {
		t.Fatal(err)
	}
	r := awsLogReader{exact: awsReader{o: o, entriesPath: layout.EntriesPath}}
	if got, err := r.ReadTile(ctx, 0, 0, 5); err != nil || string(got) != full {
		t.Errorf("ReadTile of a removed partial tile = %.20q…, %v; want the full tile", got, err)
	}
	if _, err := r.ReadTile(ctx, 0, 1, 5); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadTile of a missing tile = %v, want os.ErrNotExist", err)
	}
	if _, err := r.ReadEntryBundle(ctx, 0, 0); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadEntryBundle of a missing bundle = %v, want os.ErrNotExist", err)
	}
}

// testDSN returns the driver configuration of a mysql:// URL.
func testDSN(t *testing.T, url string) *mysql.Config {
	t.Helper()
	cfg, err := ParseMySQLURL(url)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestMigrateRefusesUnrestedSource migrates sources whose tree state is not
// their published checkpoint's, or whose tiles are not the tree's.
func TestMigrateRefusesUnrestedSource(t *testing.T) {
	ctx := context.Background()
	signer, _ := testNoteKey(t)
	for _, tc := range []struct {
		name, damage, want string
		integrity          bool
	}{
		{"ahead", "UPDATE `TreeState` SET `size` = `size` + 1", "integrated 6 entries but its published checkpoint covers 5", false},
		{"other root", "UPDATE `TreeState` SET `root` = REPEAT('x', 32)", "is not the published checkpoint's", true},
		{"long tile", "UPDATE `Subtree` SET `nodes` = CONCAT(`nodes`, REPEAT('x', 32)) WHERE `level` = 0 AND `index` = 0", "tile/0/000.p/5 holds 192 bytes, want 160", true},
		{"short tile", "UPDATE `Subtree` SET `nodes` = SUBSTRING(`nodes`, 1, 32) WHERE `level` = 0 AND `index` = 0", "tile tile/0/000.p/5: the source is missing it", true},
		{"no bundle", "DELETE FROM `TiledLeaves`", "entry bundle tile/entries/000.p/5: the source is missing it", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dbURL, objects := testDatabase(t), testObjects(t)
			src, db, err := NewMySQL(ctx, dbURL)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			appendEntries(t, src, signer, MySQLMinCheckpointInterval, 5)
			if _, err := db.ExecContext(ctx, tc.damage); err != nil {
				t.Fatal(err)
			}
			_, err = MigrateMySQLToAWS(ctx, dbURL, "", objects, "", nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrIntegrity) != tc.integrity {
				t.Errorf("migrate = %v, want an error containing %q (integrity failure: %v)", err, tc.want, tc.integrity)
			}
			d, db2, err := NewAWSSuffix(ctx, dbURL, "", objects, "")
			if err == nil {
				db2.Close()
				t.Errorf("NewAWS after a refused migration opened %s", d.Where())
			}
		})
	}
}

// appendEntries appends n entries to d with Tessera and waits until a
// checkpoint covers them, then shuts the appender down.
func appendEntries(t *testing.T, d Driver, signer note.Signer, interval time.Duration, n int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, shutdown, r, err := tessera.NewAppender(ctx, d, tessera.NewAppendOptions().
		WithCheckpointSigner(signer).WithCheckpointInterval(interval).WithBatching(512, 100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	await := tessera.NewPublicationAwaiter(ctx, r.ReadCheckpoint, 50*time.Millisecond)
	futures := make([]tessera.IndexFuture, n)
	for i := range futures {
		futures[i] = a.Add(ctx, tessera.NewEntry(fmt.Appendf(nil, "entry %d %s", i, randomHex())))
	}
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	for _, f := range futures {
		if _, _, err := await.Await(wctx, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := shutdown(wctx); err != nil {
		t.Fatal(err)
	}
}

// readAll reads the checkpoint, entry bundles and tiles of a tree of size
// entries, by name.
func readAll(t *testing.T, r Reader, size uint64, entriesPath func(uint64, uint8) string) map[string]string {
	t.Helper()
	objs, err := sourceObjects(context.Background(), r, size, entriesPath)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, o := range objs {
		m[o.name] = string(o.data)
	}
	cp, err := r.ReadCheckpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m[layout.CheckpointPath] = string(cp)
	return m
}

func testNoteKey(t *testing.T) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, "example.com/storage-test")
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func randomHex() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x", b)
}

// testDatabase creates a database next to the one of SIGNET_TEST_MYSQL_URL,
// dropped when the test ends, and returns its URL; it skips the test
// without the variable.
func testDatabase(t *testing.T) string {
	t.Helper()
	url := os.Getenv("SIGNET_TEST_MYSQL_URL")
	if url == "" {
		t.Skip("SIGNET_TEST_MYSQL_URL not set (scripts/mariadb-up.sh DIR PORT starts a MariaDB and prints it)")
	}
	cfg, err := ParseMySQLURL(url)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	name := cfg.DBName + "_st" + randomHex()
	if _, err := admin.Exec("CREATE DATABASE `" + name + "`"); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE IF EXISTS `" + name + "`"); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	cfg.DBName = name
	return "mysql://" + cfg.FormatDSN()
}

// testObjects returns a fresh prefix of the object store of
// SIGNET_TEST_S3_URL; it skips the test without the variable.
func testObjects(t *testing.T) string {
	t.Helper()
	raw := os.Getenv("SIGNET_TEST_S3_URL")
	if raw == "" {
		t.Skip("SIGNET_TEST_S3_URL not set (scripts/versitygw-up.sh DIR PORT starts an S3-compatible store and prints it)")
	}
	loc, err := ParseS3URL(raw)
	if err != nil {
		t.Fatal(err)
	}
	return loc.Sub("storage-test-" + randomHex()).String()
}
