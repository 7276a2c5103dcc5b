package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/tessera/api/layout"

	"github.com/signetproject/signet/oidc"
	"github.com/signetproject/signet/server"
	"github.com/signetproject/signet/server/servertest"
)

// getJSON fetches url and decodes its JSON body.
func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, body
}

// appendEntry logs a fresh signature in the Rekor v2 log and returns the
// HTTP status and error message.
func appendEntry(t *testing.T, url string) (int, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	digest := sha256.Sum256([]byte(time.Now().String()))
	sig, _ := ecdsa.SignASN1(rand.Reader, key, digest[:])
	req := map[string]any{"hashedRekordRequestV002": map[string]any{
		"digest": digest[:],
		"signature": map[string]any{"content": sig, "verifier": map[string]any{
			"publicKey": map[string]any{"rawBytes": mustPKIX(key)}, "keyDetails": "PKIX_ECDSA_P256_SHA_256"}},
	}}
	body, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	hr, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/api/v2/log/entries", bytes.NewReader(body))
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	var e struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(out, &e)
	return resp.StatusCode, e.Message
}

// TestHealthTellsTheTruth damages a running server's log and checks that
// liveness, readiness and the failing append say so, naming the log.
func TestHealthTellsTheTruth(t *testing.T) {
	dir := t.TempDir()
	inst := startDamageable(t, dir)
	if code, body := getJSON(t, inst.URL+"/healthz"); code != 200 || body["status"] != "ok" {
		t.Fatalf("healthz = %d %v", code, body)
	}
	code, body := getJSON(t, inst.URL+"/readyz")
	if code != 200 || body["status"] != "ready" {
		t.Fatalf("readyz = %d %v", code, body)
	}
	components, _ := body["components"].(map[string]any)
	for _, c := range []string{"log", "rekorV1Log", "caKey", "tsaKey", "ctKey"} {
		if components[c] != "ok" {
			t.Errorf("readyz component %s = %v", c, components[c])
		}
	}
	if issuers, _ := body["issuers"].(map[string]any); issuers[inst.URL+"/oidc"] != "ok" {
		t.Errorf("readyz issuers = %v", body["issuers"])
	}
	if code, msg := appendEntry(t, inst.URL); code != http.StatusCreated {
		t.Fatalf("append = %d %s", code, msg)
	}

	// A flipped byte in the edge tile: the next append must not be
	// acknowledged, and everything says why.
	tile := filepath.Join(dir, "log", layout.TilePath(0, 0, 1))
	b, err := os.ReadFile(tile)
	if err != nil {
		t.Fatal(err)
	}
	b[3] ^= 1
	if err := os.WriteFile(tile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, msg := appendEntry(t, inst.URL)
	if code != http.StatusServiceUnavailable || !strings.Contains(msg, "transparency log integrity failure") {
		t.Fatalf("append after damage = %d %q, want 503 naming the log's integrity failure", code, msg)
	}
	code, body = getJSON(t, inst.URL+"/healthz")
	if errs, _ := body["errors"].(map[string]any); code != 503 || body["status"] != "unhealthy" || !strings.Contains(errs["log"].(string), "integrity") {
		t.Fatalf("healthz after damage = %d %v", code, body)
	}
	time.Sleep(1100 * time.Millisecond) // past the readiness cache
	code, body = getJSON(t, inst.URL+"/readyz")
	if components, _ := body["components"].(map[string]any); code != 503 || !strings.Contains(components["log"].(string), "integrity") || components["rekorV1Log"] != "ok" {
		t.Fatalf("readyz after damage = %d %v", code, body)
	}
	resp, err := http.Get(inst.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `signet_log_integrity_failures_total{log="log"} 1`) {
		t.Errorf("metrics lack the integrity failure:\n%s", grepLines(string(metrics), "integrity"))
	}
}

// TestCorruptCheckpointIsUnhealthy overwrites the published checkpoint of
// a running server: the server must stop calling itself healthy and must
// not serve the garbage as /checkpoint.
func TestCorruptCheckpointIsUnhealthy(t *testing.T) {
	dir := t.TempDir()
	inst := startDamageable(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "log", "checkpoint"), []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, body := getJSON(t, inst.URL+"/healthz")
	if errs, _ := body["errors"].(map[string]any); code != 503 || !strings.Contains(errs["log"].(string), "published checkpoint") {
		t.Fatalf("healthz with a corrupt checkpoint = %d %v", code, body)
	}
	resp, err := http.Get(inst.URL + "/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == 200 || bytes.Contains(got, []byte("garbage")) {
		t.Fatalf("GET /checkpoint = %d %q", resp.StatusCode, got)
	}
	// Appends cannot be published over it: they fail at once, naming the
	// log's integrity failure, not with a 500.
	if code, msg := appendEntry(t, inst.URL); code != http.StatusServiceUnavailable || !strings.Contains(msg, "transparency log integrity failure") {
		t.Fatalf("append over a corrupt checkpoint = %d %q", code, msg)
	}
}

// TestCTLogFailureIsUnhealthy overwrites the CT log's published
// checkpoint of a running server: /healthz, /readyz and the metrics name
// the CT log's integrity failure, and /ct/checkpoint does not serve it.
func TestCTLogFailureIsUnhealthy(t *testing.T) {
	dir := t.TempDir()
	inst := startDamageable(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "ct", "checkpoint"), []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, body := getJSON(t, inst.URL+"/healthz")
	if errs, _ := body["errors"].(map[string]any); code != 503 || !strings.Contains(fmt.Sprint(errs["ctLog"]), "published checkpoint") || errs["log"] != nil {
		t.Fatalf("healthz with a corrupt CT checkpoint = %d %v", code, body)
	}
	code, body = getJSON(t, inst.URL+"/readyz")
	if components, _ := body["components"].(map[string]any); code != 503 || !strings.Contains(fmt.Sprint(components["ctLog"]), "integrity") || components["log"] != "ok" {
		t.Fatalf("readyz with a corrupt CT checkpoint = %d %v", code, body)
	}
	resp, err := http.Get(inst.URL + "/ct/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || bytes.Contains(got, []byte("garbage")) {
		t.Fatalf("GET /ct/checkpoint = %d %q", resp.StatusCode, got)
	}
	if resp, err = http.Get(inst.URL + "/metrics"); err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `signet_log_integrity_failures_total{log="ct"} 1`) {
		t.Errorf("metrics lack the CT log's integrity failure:\n%s", grepLines(string(metrics), "integrity"))
	}
}

// startDamageable is servertest.StartInDir for a server whose data the test
// damages: closing it may report the damage.
func startDamageable(t *testing.T, dir string) *servertest.Instance {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	srv, err := server.New(server.Options{DataDir: dir, BaseURL: base, InsecureDevIssuer: true})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	})
	return &servertest.Instance{URL: base, Server: srv}
}

// TestErrorsAreCappedAndNamed sends a 900 KB tile path: neither the error
// body nor the log line repeats it in full.
func TestErrorsAreCappedAndNamed(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	inst := servertest.Start(t, func(o *server.Options) {
		o.Logger = slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	})
	long := strings.Repeat("x", 900<<10)
	for _, path := range []string{
		"/tile/0/" + long,
		"/tile/entries/" + long,
		"/ct/tile/0/" + long,
		"/ct/tile/data/" + long,
		"/ct/issuer/" + long,
		"/?q=" + long,
		"/api/search?q=" + long,
		"/api/search?q=a&kind=" + long,
		"/api/search?q=a&page=" + long,
		"/entries/" + long + "/1",
		"/api/search/entries/v2/" + long,
		"/api/v1/log/entries/" + long,
		"/api/v1/log/entries?logIndex=" + long,
	} {
		name, _, _ := strings.Cut(path, "xxx")
		mu.Lock()
		logs.Reset()
		mu.Unlock()
		resp, err := http.Get(inst.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode >= 500 || len(body) > 16<<10 {
			t.Errorf("GET %s<900 KB> = %d, %d bytes: %.300s", name, resp.StatusCode, len(body), body)
		}
		mu.Lock()
		if logs.Len() > 8<<10 {
			t.Errorf("GET %s<900 KB>: %d bytes of log lines: %.300s", name, logs.Len(), logs.String())
		}
		mu.Unlock()
	}
	// The tile path is named, cut short, with its length.
	resp, err := http.Get(inst.URL + "/tile/0/" + long)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "bytes)") {
		t.Errorf("GET of a 900 KB tile path = %d: %.300s", resp.StatusCode, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "bytes)") {
		t.Errorf("log lines for the request do not cap the path: %.300s", logs.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestDevKeyRetired starts a data directory with the dev issuer, then
// without it: the dev key is retired and the server says so; turned back
// on, the dev issuer has a new key, and tokens from the old one no longer
// verify.
func TestDevKeyRetired(t *testing.T) {
	dir := t.TempDir()
	start := func(dev bool, logs io.Writer) (*server.Server, string, func()) {
		t.Helper()
		ts := httptest.NewUnstartedServer(nil)
		// One public URL for every start, whatever the port: tokens name
		// the dev issuer by it.
		opts := server.Options{DataDir: dir, BaseURL: "http://signet.test", InsecureDevIssuer: dev,
			Logger: slog.New(slog.NewTextHandler(logs, nil))}
		if !dev {
			opts.Config.Issuers = []oidc.IssuerConfig{{URL: "https://accounts.example.com", Type: oidc.TypeEmail}}
		}
		srv, err := server.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		ts.Config.Handler = srv.Handler()
		ts.Start()
		return srv, ts.URL, func() {
			ts.Close()
			if err := srv.Close(context.Background()); err != nil {
				t.Error(err)
			}
		}
	}
	srv, _, stop := start(true, io.Discard)
	oldToken, err := srv.DevIssuer().Mint(oidc.TokenRequest{Email: "alice@example.com"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	stop()

	var logs bytes.Buffer
	_, base, stop := start(false, &logs)
	if !strings.Contains(logs.String(), "ran the INSECURE dev OIDC issuer before") {
		t.Errorf("no warning about the retired dev issuer in the log:\n%s", logs.String())
	}
	retired, _ := filepath.Glob(filepath.Join(dir, "keys", "oidc-dev.key.retired-*"))
	if _, err := os.Stat(filepath.Join(dir, "keys", "oidc-dev.key")); err == nil || len(retired) != 1 {
		t.Errorf("dev key not retired: retired files %v", retired)
	}
	_, body := getJSON(t, base+"/healthz")
	if body["devHistory"] == nil {
		t.Errorf("healthz does not mention the dev history: %v", body)
	}
	stop()

	srv, _, stop = start(true, io.Discard)
	defer stop()
	if err := verifyDevToken(srv, oldToken); err == nil {
		t.Error("a token from the retired dev key still verifies")
	}
	fresh, err := srv.DevIssuer().Mint(oidc.TokenRequest{Email: "alice@example.com"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyDevToken(srv, fresh); err != nil {
		t.Errorf("a token from the new dev key: %v", err)
	}
}

// verifyDevToken checks tok against the server's current dev issuer key.
func verifyDevToken(srv *server.Server, tok string) error {
	v, err := oidc.NewVerifier(nil, oidc.VerifierOptions{})
	if err != nil {
		return err
	}
	defer v.Close()
	d := srv.DevIssuer()
	if err := v.AddStaticIssuer(oidc.IssuerConfig{URL: d.URL(), Type: oidc.TypeDev, ClientID: oidc.DefaultAudience}, d.PublicKey()); err != nil {
		return err
	}
	_, _, err = v.Verify(context.Background(), tok)
	return err
}

// TestTUFRefreshLogsOnce starts a server whose TUF repository is not there
// yet (as `make run` before the tour's `signet tuf init`): the refresh
// says so once, as a warning, not at every interval.
func TestTUFRefreshLogsOnce(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	servertest.Start(t, func(o *server.Options) {
		o.Logger = slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
		o.TUFRepo = filepath.Join(t.TempDir(), "not-yet")
		o.TUFRefreshInterval = 5 * time.Millisecond
	})
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	got := logs.String()
	mu.Unlock()
	if n := strings.Count(got, "TUF repository"); n != 1 || !strings.Contains(got, "level=WARN msg=\"TUF repository not there") {
		t.Errorf("%d TUF log lines in 40 refreshes, want one warning:\n%s", n, got)
	}
}
