package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signetproject/signet/trustroot"
)

// build is the real binary the tests run, compiled on first use into dir,
// which TestMain removes at the end. Linking it takes about 6.5 s, so it is
// built once per test run, not once per test.
var build struct {
	dir  string
	once sync.Once
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "signet-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	build.dir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// buildSignet returns the real binary, compiling it on the first call.
func buildSignet(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		build.bin = filepath.Join(build.dir, "signet")
		// Not with -race, even under `go test -race`: the race detector
		// made this package's tests take 299 s instead of 76.
		out, err := exec.Command("go", "build", "-o", build.bin, ".").CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}

// startServer runs `signet server --dev` on a free port and returns its URL
// once it printed its listening line.
func startServer(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"server", "--dev", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("server did not shut down cleanly on SIGINT: %v\n%s", err, stderr.String())
			}
		case <-time.After(15 * time.Second):
			t.Error("server did not exit within 15s of SIGINT")
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		exited <- cmd.Wait()
	}()
	select {
	case line := <-lines:
		const prefix = "signet server listening on "
		if !strings.HasPrefix(line, prefix) {
			t.Fatalf("first line %q, want %q…", line, prefix)
		}
		return strings.TrimPrefix(line, prefix)
	case <-time.After(30 * time.Second):
		t.Fatalf("server printed nothing in 30s; stderr:\n%s", stderr.String())
	}
	return ""
}

func run(t *testing.T, env []string, name string, args ...string) (string, error) {
	t.Helper()
	// A command that should fail but serves instead (a server that starts
	// when it should refuse) fails the test in minutes, not at its timeout.
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s did not exit within %s: %w", name, runTimeout, err)
	}
	return out.String(), err
}

// runTimeout bounds a command run by run.
const runTimeout = 3 * time.Minute

// TestREADMETour runs the README's tour block against a real server.
func TestREADMETour(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	bin := buildSignet(t)
	tufDir := t.TempDir()
	url := startServer(t, bin, "--tuf-repo", filepath.Join(tufDir, "repo"))
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "<!-- tour:begin")
	block, _, ok2 := strings.Cut(rest, "<!-- tour:end -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no tour block")
	}
	_, script, _ := strings.Cut(block, "```sh\n")
	script, _, _ = strings.Cut(script, "```")
	script = strings.ReplaceAll(script, "http://127.0.0.1:8080", url)
	script = strings.ReplaceAll(script, "/tmp/signet-trust", t.TempDir())
	script = strings.ReplaceAll(script, "/tmp/hello", filepath.Join(t.TempDir(), "hello"))
	script = strings.ReplaceAll(script, "/tmp/signet-tuf", tufDir)
	env := []string{"PATH=" + filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH"), "SIGSTORE_ID_TOKEN=",
		"SIGNET_TUF_CACHE=" + t.TempDir()}
	out, err := run(t, env, "bash", "-euo", "pipefail", "-c", script)
	if err != nil {
		t.Fatalf("tour failed: %v\n%s", err, out)
	}
	for _, want := range []string{`"status": "ok"`, "eyJ", "issuerUrl", "subject=O = signet, CN = signet intermediate",
		"Verified OK", "identity: alice@example.com", "rejected, as it should be", "1.root.json", "— 127.0.0.1 ", "— 127.0.0.1/ct ", `signet_ca_certificates_issued_total{issuer="` + url + `/oidc"} 1`,
		`"url": "/entries/v2/`} {
		if !strings.Contains(out, want) {
			t.Errorf("tour output lacks %q:\n%s", want, out)
		}
	}
}

// TestCLIErrors checks that bad invocations fail with a clear message.
func TestCLIErrors(t *testing.T) {
	bin := buildSignet(t)
	dir := t.TempDir()
	badConfig := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badConfig, []byte("issuers:\n  - url: https://x.example\n    type: email\n    colour: blue\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	busy := ln.Addr().String()
	defer ln.Close()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no issuers", []string{"server", "--data-dir", dir}, "no OIDC issuers"},
		{"unknown config field", []string{"server", "--config", badConfig, "--data-dir", dir}, "line 4: field colour not found"},
		{"missing config", []string{"server", "--config", filepath.Join(dir, "nope.yaml")}, "no such file"},
		{"port in use", []string{"server", "--dev", "--addr", busy, "--data-dir", dir}, "address already in use"},
		{"dev on a non-loopback address", []string{"server", "--dev", "--addr", "0.0.0.0:0", "--data-dir", dir}, "--dev-allow-remote"},
		{"CT NotAfter limit not a time", []string{"server", "--config", filepath.Join(dir, "nope.yaml"), "--ct-not-after-limit", "soon"}, `--ct-not-after-limit "soon" is not an RFC 3339 time`},
		{"empty CT NotAfter window", []string{"server", "--dev", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--ct-not-after-start", "2027-01-01T00:00:00Z", "--ct-not-after-limit", "2026-01-01T00:00:00Z"}, "is not before its limit"},
		{"dev token two identities", []string{"dev", "token", "--email", "a@b.c", "--subject", "x"}, "exactly one of"},
		{"dev token no server", []string{"dev", "token", "--server", "http://127.0.0.1:1", "--email", "a@b.c"}, "request token from"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, nil, bin, tt.args...)
			if err == nil {
				t.Fatalf("succeeded, want failure; output:\n%s", out)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("output %q does not mention %q", out, tt.want)
			}
		})
	}
}

// TestDevAllowRemote: --dev on a non-loopback address starts only with the
// loudly named --dev-allow-remote (TestCLIErrors checks the refusal).
func TestDevAllowRemote(t *testing.T) {
	bin := buildSignet(t)
	url := startServer(t, bin, "--addr", "0.0.0.0:0", "--dev-allow-remote")
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz = %d", resp.StatusCode)
	}
}

// TestServerRestartKeepsKeys restarts the binary on one data dir.
func TestServerRestartKeepsKeys(t *testing.T) {
	bin := buildSignet(t)
	dir := t.TempDir()
	var roots []string
	for i := 0; i < 2; i++ {
		t.Run("start", func(t *testing.T) {
			url := startServer(t, bin, "--data-dir", dir)
			out, err := run(t, nil, bin, "trust-root", "--server", url, "--out", t.TempDir())
			if err != nil {
				t.Fatalf("trust-root: %v\n%s", err, out)
			}
			path := strings.TrimPrefix(strings.Split(strings.TrimSpace(out), "\n")[0], "wrote ")
			tr, err := trustroot.LoadTrustedRootFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(tr.CertificateAuthorities) != 1 {
				t.Fatalf("trusted root has %d CAs, want 1", len(tr.CertificateAuthorities))
			}
			var pem strings.Builder
			ca := tr.CertificateAuthorities[0]
			for _, c := range append(ca.Intermediates, ca.Root) {
				pem.Write(c.Raw)
			}
			roots = append(roots, pem.String())
		})
	}
	if len(roots) == 2 && roots[0] != roots[1] {
		t.Error("CA chain in trusted_root.json changed across a restart on the same data dir")
	}
	info, err := os.Stat(filepath.Join(dir, "keys", "ca-intermediate.key"))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("CA key mode %04o, want 0600", perm)
	}
}
