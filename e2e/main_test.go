//go:build e2e

// Package e2e runs signet against the real programs it must interoperate
// with (cosign v2 and v3, built from the Go module proxy by
// $SIGNET_SHARED/e2e/cosign-build.sh), and benchmarks it against peers:
// BenchmarkLogAppendPeer builds the rekor-tiles log server with
// scripts/rekor-tiles-build.sh when it runs, TestIdentityOpenIDProvider
// zitadel/oidc's example OpenID provider with scripts/oidc-provider-build.sh,
// and the policy catalog's differential tests policy-controller's
// policy-tester with scripts/policy-tester-build.sh. Everything listens on
// 127.0.0.1.
//
// Run it with `make e2e`, or:
//
//	SIGNET_SHARED=$PWD/../shared go test -tags e2e -count=1 ./e2e/...
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// env is what TestMain sets up once for all tests.
var env struct {
	cosignV2, cosignV3 string // cosign binaries
	signetBin          string // signet binary built from this tree
	serverURL          string // http://127.0.0.1:PORT of the running signet server
	oidcIssuer         string // serverURL + "/oidc", the dev issuer
	workDir            string // scratch space shared by the tests (each test uses its own subdirectory)
	scripts            string // absolute $SIGNET_SHARED/e2e: the scripts that build and start peers
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	work, err := os.MkdirTemp("", "signet-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(work)
	env.workDir = work

	if err := setUp(work); err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		return 1
	}
	srv, err := startServer(filepath.Join(work, "server"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		return 1
	}
	env.serverURL = srv.url
	env.oidcIssuer = srv.url + "/oidc"
	code := m.Run()
	if err := srv.stop(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e teardown:", err)
		if code == 0 {
			code = 1
		}
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "signet server log:\n%s\n", srv.log.String())
	}
	return code
}

// setUp finds the shared scripts, builds (or finds cached) cosign binaries
// and builds signet.
func setUp(work string) error {
	shared := os.Getenv("SIGNET_SHARED")
	if shared == "" {
		// go test runs in the package directory: <repo>/e2e, with shared/ beside <repo>.
		shared = filepath.Join("..", "..", "shared")
	}
	scripts, err := filepath.Abs(filepath.Join(shared, "e2e"))
	if err != nil {
		return err
	}
	env.scripts = scripts
	script := filepath.Join(scripts, "cosign-build.sh")
	if _, err := os.Stat(script); err != nil {
		return fmt.Errorf("cosign build script: %w (set SIGNET_SHARED to the shared/ directory)", err)
	}

	start := time.Now()
	paths, err := runBuildScript(script, "COSIGN_V3", "COSIGN_V2")
	if err != nil {
		return err
	}
	env.cosignV3, env.cosignV2 = paths["COSIGN_V3"], paths["COSIGN_V2"]
	fmt.Fprintf(os.Stderr, "e2e: cosign ready in %s\n", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	env.signetBin = filepath.Join(work, "bin", "signet")
	// Static and -trimpath, as `make image` builds linux/amd64: the image
	// test (TestHelmChartInCluster) then compiles nothing twice.
	build := exec.Command("go", "build", "-trimpath", "-o", env.signetBin, "github.com/signetproject/signet/cmd/signet")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build signet: %w\n%s", err, out)
	}
	fmt.Fprintf(os.Stderr, "e2e: signet built in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// runBuildScript runs a script that builds (or finds cached) peer binaries
// and returns the paths it prints as KEY=PATH lines, one for each of keys.
// The scripts derive the paths from lib.sh, the source of truth for the
// cache layout.
func runBuildScript(script string, keys ...string) (map[string]string, error) {
	cmd := exec.Command("bash", script)
	cmd.Env = append(os.Environ(), "SIGNET_SHARED="+filepath.Dir(env.scripts))
	cmd.Stderr = os.Stderr // build progress
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w\n%s", script, err, out)
	}
	paths := map[string]string{}
	for line := range strings.Lines(string(out)) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			paths[k] = v
		}
	}
	for _, k := range keys {
		if paths[k] == "" {
			return nil, fmt.Errorf("%s printed no %s= line:\n%s", script, k, out)
		}
		if _, err := os.Stat(paths[k]); err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
	}
	return paths, nil
}

// server is a running `signet server --dev`, or a peer server process.
type server struct {
	name string // for errors: "signet server", "rekor-tiles"
	url  string // http://127.0.0.1:PORT
	cmd  *exec.Cmd
	done chan error    // receives cmd.Wait's result once
	log  *lockedBuffer // the server's stderr
}

// startServer starts `signet server --dev` on a free port with its data in
// dataDir (and more flags, args) and waits until it answers /healthz.
func startServer(dataDir string, args ...string) (*server, error) {
	cmd := exec.Command(env.signetBin, append([]string{"server", "--dev", "--addr", "127.0.0.1:0", "--data-dir", dataDir}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s := &server{name: "signet server", cmd: cmd, done: make(chan error, 1), log: &lockedBuffer{}}
	cmd.Stderr = s.log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start signet server: %w", err)
	}

	// The first stdout line names the URL; the rest of stdout is drained so
	// the server never blocks on a full pipe. cmd.Wait runs only after this
	// reader is done with the pipe.
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "signet server listening on "); ok && !sent {
				urlc <- strings.TrimSpace(u)
				sent = true
			}
		}
		close(urlc)
		s.done <- cmd.Wait()
	}()

	fail := func(err error) (*server, error) {
		_ = s.stop()
		return nil, fmt.Errorf("%w\nserver log:\n%s", err, s.log.String())
	}
	select {
	case u, ok := <-urlc:
		if !ok {
			return fail(errors.New("signet server exited before printing its URL"))
		}
		s.url = u
	case <-time.After(30 * time.Second):
		return fail(errors.New("signet server printed no URL within 30s"))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pollOK(ctx, s.url+"/healthz"); err != nil {
		return fail(err)
	}
	return s, nil
}

// stop sends SIGINT and waits for a graceful exit, killing the server after
// 15 seconds. It reports a non-clean exit.
func (s *server) stop() error {
	if s.cmd.Process == nil {
		return nil
	}
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("interrupt %s: %w", s.name, err)
	}
	select {
	case err := <-s.done:
		if err != nil {
			return fmt.Errorf("%s exited: %w", s.name, err)
		}
		return nil
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("%s ignored SIGINT for 15s; killed", s.name)
	}
}

// pollOK polls url until it answers 200 or ctx ends.
func pollOK(ctx context.Context, url string) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("GET %s: not ready: %v", url, last)
		case <-tick.C:
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent Write and String.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
