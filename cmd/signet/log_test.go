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
	cmd, url = startKillable(t, bin, dir, addr)
	defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	if after := search(); after != before {
		t.Errorf("after reindex search = %s, want %s", after, before)
	}
}
