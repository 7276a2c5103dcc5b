package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
	if err != nil || !strings.Contains(out, "rebuilt the Rekor v1 API's search index: 1 entries\n") {
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
	signOnBothLogs(t, bin, url)
	found := func(q string) string {
		t.Helper()
		hit := searchHit(t, url, q)
		if hit == "" {
			return ""
		}
		var h struct{ URL string }
		if err := json.Unmarshal([]byte(hit), &h); err != nil {
			t.Fatal(err)
		}
		return h.URL
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

// TestReindexDamagedIndexes damages a complete record in the middle of the
// web UI's search index and of the Rekor v1 API's: the server refuses to
// start and names the command that rebuilds them, and `signet log reindex`
// rebuilds both, dropping the damaged records and keeping the times the
// others held.
func TestReindexDamagedIndexes(t *testing.T) {
	bin := buildSignet(t)
	dir := t.TempDir()
	addr := "127.0.0.1:" + strconv.Itoa(freeport.Get(t))
	cmd, url := startKillable(t, bin, dir, addr)
	signOnBothLogs(t, bin, url)
	hit := func(q string) string { t.Helper(); return searchHit(t, url, q) }
	bobSum := sha256.Sum256([]byte("bob@example.com"))
	v1Search := func() string {
		t.Helper()
		resp, err := http.Post(url+"/api/v1/index/retrieve", "application/json", strings.NewReader(`{"hash":"`+hex.EncodeToString(bobSum[:])+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return fmt.Sprint(resp.StatusCode, " ", string(body))
	}
	alice, bob := hit("alice@example.com"), hit("bob@example.com")
	bobV1 := v1Search()
	if alice == "" || bob == "" || strings.Count(bobV1, `"`) != 2 {
		t.Fatalf("before: alice %s, bob %s, bob by hash %s", alice, bob, bobV1)
	}
	_ = cmd.Process.Signal(os.Interrupt)
	_ = cmd.Wait()

	// A complete record that is not JSON, after the first of each file. The
	// server opens the v1 log's index before the web UI's, so each refusal
	// comes from the index just damaged.
	for _, f := range []string{filepath.Join(dir, "search", "index.jsonl"), filepath.Join(dir, "rekor-v1", "search.jsonl")} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		first, rest, ok := bytes.Cut(data, []byte("\n"))
		if !ok || len(rest) == 0 {
			t.Fatalf("%s has fewer than two records: %q", f, data)
		}
		damaged := slices.Concat(first, []byte("\n{\"k\":\x00}\n"), rest)
		if err := os.WriteFile(f, damaged, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := run(t, nil, bin, "server", "--dev", "--addr", addr, "--data-dir", dir)
		if err == nil || !strings.Contains(out, "damaged search index record") || !strings.Contains(out, "signet log reindex --data-dir "+dir) {
			t.Fatalf("server with a damaged %s: %v\n%s", f, err, out)
		}
	}
	out, err := run(t, nil, bin, "log", "reindex", "--data-dir", dir)
	if err != nil || strings.Count(out, "(dropped 1 damaged records of the old index)") != 2 {
		t.Fatalf("log reindex: %v\n%s", err, out)
	}
	cmd, url = startKillable(t, bin, dir, addr)
	defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	if got := hit("alice@example.com"); got != alice {
		t.Errorf("after reindex alice's hit = %s, want %s", got, alice)
	}
	if got := hit("bob@example.com"); got != bob {
		t.Errorf("after reindex bob's hit = %s, want %s", got, bob)
	}
	if got := v1Search(); got != bobV1 {
		t.Errorf("after reindex bob by hash = %s, want %s", got, bobV1)
	}
}

// signOnBothLogs signs, through the server at url, a blob holding
// "alice@example.com" as that identity on the Rekor v2 log, and one
// holding "bob@example.com" as that identity on the v1 log.
func signOnBothLogs(t *testing.T, bin, url string) {
	t.Helper()
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
}

// searchHit returns the one hit of the web UI's JSON search for q on the
// server at url, as JSON, waiting up to 10 s for the index to follow the
// logs; "" if there is not exactly one.
func searchHit(t *testing.T, url, q string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(url + "/api/search?q=" + q)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var res struct {
			Hits []json.RawMessage `json:"hits"`
		}
		if err := json.Unmarshal(body, &res); resp.StatusCode != 200 || err != nil {
			t.Fatalf("search: %d %s", resp.StatusCode, body)
		}
		if len(res.Hits) == 1 {
			return string(res.Hits[0])
		}
		if time.Now().After(deadline) {
			return ""
		}
	}
}

// TestLogVerifyAfterKeyRotation rotates the Rekor v2 log's key of a data
// directory: the server reopens the log (whose checkpoints the retired
// key signed) and `signet log verify` accepts the log, on the data
// directory and over HTTP, before and after the new key signs.
func TestLogVerifyAfterKeyRotation(t *testing.T) {
	bin := buildSignet(t)
	dir := t.TempDir()
	addr := "127.0.0.1:" + strconv.Itoa(freeport.Get(t))
	artifact := filepath.Join(t.TempDir(), "a.txt")
	if err := os.WriteFile(artifact, []byte("rotated artifact"), 0o644); err != nil {
		t.Fatal(err)
	}
	sign := func(url string) {
		t.Helper()
		env := []string{"SIGNET_SERVER=" + url, "SIGSTORE_ID_TOKEN="}
		if out, err := run(t, env, bin, "sign-blob", artifact, "--dev-identity", "alice@example.com", "--bundle", filepath.Join(t.TempDir(), "b.json")); err != nil {
			t.Fatalf("sign-blob: %v\n%s", err, out)
		}
	}
	verify := func(args ...string) {
		t.Helper()
		out, err := run(t, nil, bin, append([]string{"log", "verify"}, args...)...)
		if err != nil || strings.Count(out, ": ok") < 1 || strings.Contains(out, "problem") {
			t.Fatalf("log verify %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	stop := func(cmd *exec.Cmd) { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }

	cmd, url := startKillable(t, bin, dir, addr)
	sign(url)
	stop(cmd)
	if out, err := run(t, nil, bin, "server", "rotate-keys", "--data-dir", dir, "--keys", "tlog"); err != nil {
		t.Fatalf("rotate-keys: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "keys", "oidc-dev.key")); err != nil {
		t.Errorf("rotate-keys retired the dev issuer's key: %v", err)
	}
	verify("--data-dir", dir)

	cmd, url = startKillable(t, bin, dir, addr)
	defer stop(cmd)
	verify("--url", url) // the retired key's checkpoint
	sign(url)
	verify("--url", url) // the new key's
}
