package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

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

// TestSearchIndexReindex signs on both logs, finds the entries with the
// web UI's JSON search, replaces the search index with one that has lost
// its keys but still claims to have followed both logs (so the server
// would not index the entries again), and rebuilds it with `signet log
// reindex`.
func TestSearchIndexReindex(t *testing.T) {
	bin := buildSignet(t)
	dir := t.TempDir()
	addr := "127.0.0.1:" + strconv.Itoa(freeport.Get(t))
	cmd, url := startKillable(t, bin, dir, addr)
	env := []string{"SIGNET_SERVER=" + url, "SIGSTORE_ID_TOKEN="}
	for _, s := range []struct{ identity, version string }{{"alice@example.com", "2"}, {"bob@example.com", "1"}} {
		artifact := filepath.Join(t.TempDir(), "a.txt")
		if err := os.WriteFile(artifact, []byte(s.identity), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := run(t, env, bin, "sign-blob", artifact, "--rekor-version", s.version, "--dev-identity", s.identity, "--bundle", filepath.Join(t.TempDir(), "b.json")); err != nil {
			t.Fatalf("sign-blob: %v\n%s", err, out)
		}
	}
	found := func(q string) string {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			resp, err := http.Get(url + "/api/search?q=" + q)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("search: %d %s", resp.StatusCode, body)
			}
			var res struct {
				Hits []struct{ URL string } `json:"hits"`
			}
			if err := json.Unmarshal(body, &res); err != nil {
				t.Fatal(err)
			}
			if len(res.Hits) == 1 || time.Now().After(deadline) {
				if len(res.Hits) != 1 {
					return ""
				}
				return res.Hits[0].URL
			}
		}
	}
	if got := found("alice@example.com"); got != "/entries/v2/0" {
		t.Fatalf("alice found at %q", got)
	}
	if got := found("bob@example.com"); got != "/entries/v1/0" {
		t.Fatalf("bob found at %q", got)
	}
	_ = cmd.Process.Signal(os.Interrupt)
	_ = cmd.Wait()

	if err := os.WriteFile(filepath.Join(dir, "search", "index.jsonl"), []byte(`{"f":2,"n":1}`+"\n"+`{"f":1,"n":1}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd, url = startKillable(t, bin, dir, addr)
	if got := found("alice@example.com"); got != "" {
		t.Fatalf("the damaged index still finds alice at %s: the test does not test reindexing", got)
	}
	_ = cmd.Process.Signal(os.Interrupt)
	_ = cmd.Wait()

	out, err := run(t, nil, bin, "log", "reindex", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "rebuilt the search index: 1 Rekor v2 and 1 Rekor v1 entries") {
		t.Fatalf("log reindex: %v\n%s", err, out)
	}
	cmd, url = startKillable(t, bin, dir, addr)
	defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	if got := found("alice@example.com"); got != "/entries/v2/0" {
		t.Errorf("after reindex alice found at %q", got)
	}
	if got := found("bob@example.com"); got != "/entries/v1/0" {
		t.Errorf("after reindex bob found at %q", got)
	}
}
