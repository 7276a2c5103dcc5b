//go:build e2e

package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// nodeLockFile is the lock every test that starts a node holds while its
// node runs: node-up.sh's bridge (e2ecni0), pod network (10.244.0.0/24)
// and node IP are machine-wide, so only one node may run on a machine at
// a time, across tests and `go test` processes.
const nodeLockFile = ".node.lock"

// e2eCache is $SIGNET_E2E_CACHE, default $HOME/.cache/signet-e2e (as in
// ../shared/e2e/lib.sh).
func e2eCache() string {
	if c := os.Getenv("SIGNET_E2E_CACHE"); c != "" {
		return c
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "signet-e2e")
}

// nodeUp starts a real node — kubelet + containerd, node "e2e-node",
// $SIGNET_SHARED/e2e/node-up.sh — joined to k's control plane and pulling
// from the plain-HTTP registry on 127.0.0.1:regPort, and returns its
// directory. It builds kubelet/kubectl first if they are not cached.
//
// The node is a machine-wide resource: nodeUp takes an exclusive flock on
// $SIGNET_E2E_CACHE/.node.lock (waiting for another test's node to go
// down) and holds it until the test's cleanup has run node-down.sh. Call
// it after the control plane and the registry are up, so that its cleanup
// (node down, then unlock) runs before theirs.
func nodeUp(t *testing.T, k *admissionCluster, regPort string) (nodeDir string) {
	t.Helper()
	build := exec.Command("bash", filepath.Join(env.scripts, "node-build.sh"))
	build.Env = append(os.Environ(), "SIGNET_SHARED="+filepath.Dir(env.scripts))
	build.Stderr = os.Stderr // build progress
	if out, err := build.Output(); err != nil {
		t.Fatalf("node-build.sh: %v\n%s", err, out)
	}

	unlock, err := lockNode(t)
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last-in first-out: node-down.sh, then the unlock.
	t.Cleanup(unlock)

	nodeDir = filepath.Join(t.TempDir(), "node")
	if err := os.MkdirAll(nodeDir, 0o755); err != nil {
		t.Fatal(err)
	}
	script := func(name string, args ...string) error {
		cmd := exec.Command("bash", append([]string{filepath.Join(env.scripts, name)}, args...)...)
		cmd.Env = append(os.Environ(), "SIGNET_SHARED="+filepath.Dir(env.scripts))
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w\n%s", name, err, out)
		}
		return nil
	}
	// Registered before node-up.sh runs: a node that came up half-way
	// (bridge made, containerd started) is taken down too.
	t.Cleanup(func() {
		if err := script("node-down.sh", nodeDir); err != nil {
			t.Error(err)
		}
	})
	start := time.Now()
	if err := script("node-up.sh", nodeDir, k.dir, regPort); err != nil {
		t.Fatalf("%v\nkubelet log: %s", err, filepath.Join(nodeDir, "kubelet.log"))
	}
	t.Logf("node up in %s", time.Since(start).Round(100*time.Millisecond))
	return nodeDir
}

// lockNode takes the machine's node lock, waiting for it when another
// test holds it, and returns the function that releases it.
func lockNode(t *testing.T) (unlock func(), err error) {
	t.Helper()
	dir := e2eCache()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, nodeLockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("node lock: %w", err)
	}
	fd := int(f.Fd())
	err = syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		holder, _ := os.ReadFile(path)
		t.Logf("waiting for the node lock %s (held by %s)", path, holder)
		start := time.Now()
		for {
			err = syscall.Flock(fd, syscall.LOCK_EX)
			if !errors.Is(err, syscall.EINTR) {
				break
			}
		}
		t.Logf("node lock taken after %s", time.Since(start).Round(time.Second))
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("node lock %s: %w", path, err)
	}
	// Who holds it, for whoever waits next (informative only).
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(fmt.Appendf(nil, "pid %d, %s, since %s\n", os.Getpid(), t.Name(), time.Now().Format(time.RFC3339)), 0)
	}
	return func() { f.Close() }, nil // closing the last descriptor releases the flock
}
