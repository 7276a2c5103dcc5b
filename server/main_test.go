package server_test

import (
	"log/slog"
	"os"
	"testing"

	"go.uber.org/goleak"
	"k8s.io/klog/v2"
)

// TestMain keeps Tessera's informational klog lines out of test and
// benchmark output (its warnings and errors still reach stderr), and
// fails the package's tests when a goroutine outlives them. Idle
// keep-alive connections of the tests' HTTP clients are the clients'
// (sigstore-go's Rekor client keeps its own pool), not the server's.
func TestMain(m *testing.M) {
	klog.SetSlogLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"))
}
