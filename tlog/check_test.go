package tlog

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signetproject/signet/tlog/storage"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"
)

// TestCheckLog checks a sound log directory, then one damaged in each
// stored file, with CheckLogDir: each damage is found and named.
func TestCheckLog(t *testing.T) {
	p := populate(t)
	ctx := context.Background()
	pub := p.key.Public().(ed25519.PublicKey)
	rep, err := CheckLogDir(ctx, p.dir, pub)
	if err != nil {
		t.Fatalf("CheckLogDir of a sound log: %v (%v)", err, rep)
	}
	if rep.Size != 300 || rep.Bundles != 2 || rep.Tiles != 3 || len(rep.Problems) != 0 {
		t.Fatalf("report of a sound log = %+v", rep)
	}
	for _, tc := range []struct {
		name   string
		path   string
		damage func([]byte) []byte
		want   string
	}{
		{"truncated full tile", layout.TilePath(0, 0, 0), func(b []byte) []byte { return b[:len(b)-32] }, "tile tile/0/000 holds 8160 bytes, want 8192"},
		{"flipped byte in a full tile", layout.TilePath(0, 0, 0), func(b []byte) []byte { b[100] ^= 1; return b }, "tile tile/0/000: hash 3"},
		{"flipped byte in the level-1 tile", layout.TilePath(1, 0, 1), func(b []byte) []byte { b[0] ^= 1; return b }, "tile tile/1/000.p/1: hash 0"},
		{"flipped byte in the edge tile", layout.TilePath(0, 1, 44), func(b []byte) []byte { b[40] ^= 1; return b }, "tile tile/0/001.p/44: hash 1"},
		{"truncated full bundle", layout.EntriesPath(0, 0), func(b []byte) []byte { return b[:len(b)-10] }, "entry bundle tile/entries/000"},
		{"flipped byte in the edge bundle", layout.EntriesPath(1, 44), func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, "tile tile/0/001.p/44: hash 43"},
		{"extra entry in the edge bundle", layout.EntriesPath(1, 44), func(b []byte) []byte { return append(b, 0, 1, 'x') }, "holds 45 entries, want 44"},
		{"garbage checkpoint", "checkpoint", func([]byte) []byte { return []byte("garbage\n") }, "checkpoint does not verify"},
		{"garbage tree state", ".state/treeState", func([]byte) []byte { return []byte(`{"size":300,"root":"AAAA"}`) }, "the tree state says"},
		{"tree state beyond the entries", ".state/treeState", func([]byte) []byte { return []byte(`{"size":1000000,"root":"AAAA"}`) }, "entry bundle tile/entries/001 is missing"},
		{"garbage signed-checkpoint record", storage.SignedCheckpointFile, func([]byte) []byte { return []byte("x") }, "record does not verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "log")
			if err := os.CopyFS(dir, os.DirFS(p.dir)); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, tc.path)
			writeFile(t, path, tc.damage(readFile(t, path)))
			rep, err := CheckLogDir(ctx, dir, pub)
			var problems string
			if rep != nil {
				problems = strings.Join(rep.Problems, "\n")
			}
			if err == nil || !strings.Contains(err.Error()+"\n"+problems, tc.want) {
				t.Fatalf("CheckLogDir = %v, problems:\n%s\nwant a problem containing %q", err, problems, tc.want)
			}
			if rep != nil && len(rep.Problems) > maxProblems+1 {
				t.Errorf("%d problems reported", len(rep.Problems))
			}
		})
	}
	// An older but consistent record, as a crash leaves it, is sound.
	dir := filepath.Join(t.TempDir(), "log")
	if err := os.CopyFS(dir, os.DirFS(p.dir)); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, storage.SignedCheckpointFile), readFile(t, filepath.Join(p.at100, storage.SignedCheckpointFile)))
	if rep, err := CheckLogDir(ctx, dir, pub); err != nil {
		t.Fatalf("CheckLogDir with an older record: %v %v", err, rep.Problems)
	}
	// Another key does not verify the checkpoint.
	if _, err := CheckLogDir(ctx, p.dir, newLogKey(t).Public().(ed25519.PublicKey)); !errors.Is(err, ErrIntegrity) {
		t.Errorf("CheckLogDir with another key = %v", err)
	}
}

// TestCheckLogOverHTTP checks a log served over HTTP, as `signet log
// verify --url` does, through the log's own read API.
func TestCheckLogOverHTTP(t *testing.T) {
	p := populate(t)
	l, err := reopen(t, p.dir, p.key)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(tileHandler(l))
	defer ts.Close()
	u, _ := url.Parse(ts.URL + "/")
	f, err := client.NewHTTPFetcher(u, ts.Client())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := CheckLog(context.Background(), f, testOrigin, []note.Verifier{l.Verifier()})
	if err != nil || rep.Size != 300 {
		t.Fatalf("CheckLog over HTTP = %+v, %v", rep, err)
	}
}

// tileHandler serves a log's tlog-tiles resources, as the server does.
func tileHandler(l *Log) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var (
			data []byte
			err  error
		)
		switch rest, ok := strings.CutPrefix(r.URL.Path, "/tile/"); {
		case r.URL.Path == "/checkpoint":
			data, err = l.ReadCheckpoint(r.Context())
		case !ok:
			err = os.ErrNotExist
		case strings.HasPrefix(rest, "entries/"):
			var index uint64
			var p uint8
			if index, p, err = layout.ParseTileIndexPartial(strings.TrimPrefix(rest, "entries/")); err == nil {
				data, err = l.ReadEntryBundle(r.Context(), index, p)
			}
		default:
			level, idx, _ := strings.Cut(rest, "/")
			var lv, index uint64
			var p uint8
			if lv, index, p, err = layout.ParseTileLevelIndexPartial(level, idx); err == nil {
				data, err = l.ReadTile(r.Context(), lv, index, p)
			}
		}
		if errors.Is(err, os.ErrNotExist) {
			http.NotFound(w, r)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = w.Write(data)
	})
}

// TestCheckLogMySQL checks a log kept in MySQL, as `signet log verify
// --log-storage mysql://…` does (SIGNET_TEST_MYSQL_URL).
func TestCheckLogMySQL(t *testing.T) {
	url := mysqlTestURL(t)
	ctx := context.Background()
	key := newLogKey(t)
	opts := DefaultOptions()
	opts.CheckpointInterval = storage.MySQLMinCheckpointInterval
	d, db, err := storage.NewMySQL(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := New(ctx, d, testOrigin, key, opts)
	if err != nil {
		t.Fatal(err)
	}
	fillLog(t, l, newTestSigner(t), "mysql", 5)
	closeLog(t, l)

	rep, err := CheckLogMySQL(ctx, url, key.Public().(ed25519.PublicKey))
	if err != nil || rep.Size != 5 {
		t.Fatalf("CheckLogMySQL = %+v, %v", rep, err)
	}
	var tile []byte
	if err := db.QueryRow("SELECT `nodes` FROM `Subtree` WHERE `level` = 0 AND `index` = 0").Scan(&tile); err != nil {
		t.Fatal(err)
	}
	tile[33] ^= 1
	if _, err := db.Exec("UPDATE `Subtree` SET `nodes` = ? WHERE `level` = 0 AND `index` = 0", tile); err != nil {
		t.Fatal(err)
	}
	if rep, err := CheckLogMySQL(ctx, url, key.Public().(ed25519.PublicKey)); !errors.Is(err, ErrCheckFailed) || !strings.Contains(strings.Join(rep.Problems, "\n"), "tile tile/0/000.p/5: hash 1") {
		t.Fatalf("CheckLogMySQL of a damaged tile = %v, %+v", err, rep)
	}
}
