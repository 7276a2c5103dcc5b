package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/signetproject/signet/internal/freeport"
)

// TestRekorV1SearchAndReindex signs through the Rekor v1 API, finds the
// entry with the v1 search API, deletes the search index, rebuilds it with
// `signet log reindex` and finds the entry again.
func TestRekorV1SearchAndReindex(t *testing.T) {
	bin := buildSignet(t)
	dir := t.TempDir()
	addr := "127.0.0.1:" + strconv.Itoa(freeport.Get(t))
	cmd, url := startKillable(t, bin, dir, addr)
	artifact := filepath.Join(t.TempDir(), "a.txt")
	if err := os.WriteFile(artifact, []byte("indexed artifact"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"SIGNET_SERVER=" + url, "SIGSTORE_ID_TOKEN="}
	if out, err := run(t, env, bin, "sign-blob", artifact, "--rekor-version", "1", "--dev-identity", "alice@example.com", "--bundle", filepath.Join(t.TempDir(), "b.json")); err != nil {
		t.Fatalf("sign-blob --rekor-version 1: %v\n%s", err, out)
	}
	sum := sha256.Sum256([]byte("indexed artifact"))
	search := func() string {
		resp, err := http.Post(url+"/api/v1/index/retrieve", "application/json", strings.NewReader(`{"hash":"sha256:`+hex.EncodeToString(sum[:])+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("search: %d %s", resp.StatusCode, body)
		}
		return string(body)
	}
	before := search()
	if strings.Count(before, `"`) != 2 {
		t.Fatalf("search by artifact hash = %s, want one entry", before)
	}
	_ = cmd.Process.Signal(os.Interrupt)
	_ = cmd.Wait()

	if err := os.Remove(filepath.Join(dir, "rekor-v1", "search.jsonl")); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, nil, bin, "log", "reindex", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "reindexed 1 entries") {
		t.Fatalf("log reindex: %v\n%s", err, out)
	}
	// `signet log verify` finds both logs sound, then a damaged tile.
	out, err = run(t, nil, bin, "log", "verify", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "Rekor v2 log: ok") || !strings.Contains(out, "Rekor v1 log: ok: 1 entries") {
		t.Fatalf("log verify: %v\n%s", err, out)
	}
	tile := filepath.Join(dir, "rekor-v1", "tiles", "tile", "0", "000.p", "1")
	good, err := os.ReadFile(tile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tile, append([]byte{good[0] ^ 1}, good[1:]...), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = run(t, nil, bin, "log", "verify", "--data-dir", dir)
	if err == nil || !strings.Contains(out, "Rekor v1 log: tile tile/0/000.p/1: hash 0 is") {
		t.Fatalf("log verify of a damaged tile: %v\n%s", err, out)
	}
	if err := os.WriteFile(tile, good, 0o644); err != nil {
		t.Fatal(err)
	}

	cmd, url = startKillable(t, bin, dir, addr)
	defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	if after := search(); after != before {
		t.Errorf("after reindex search = %s, want %s", after, before)
	}
	// A remote log's tiles, against the key its own trusted root lists.
	if out, err := run(t, nil, bin, "log", "verify", "--url", url); err != nil || !strings.Contains(out, "log "+url+": ok") {
		t.Errorf("log verify --url: %v\n%s", err, out)
	}
}
